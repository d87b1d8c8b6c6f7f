"""`make diffs`: each step's CHANGES.diff against the step before it, the generated "What
changed" section of every step README (the lesson first, then the rest) and the per-step
figures of the root README (root tooling). `--check` writes nothing and fails on drift.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path

from workshop import ROOT, relative, step_dirs

START_MARKER = "<!-- what-changed:start -->"
END_MARKER = "<!-- what-changed:end -->"
FIGURES_START = "<!-- step-figures:start -->"
FIGURES_END = "<!-- step-figures:end -->"
DIFF_NAME = "CHANGES.diff"
# In each step folder: the files of the step's idea, one path (or glob) a line, in reading order.
LESSON_LIST = "lesson-files.txt"
FIX_COMMAND = "make diffs (or python tools/run.py diffs)"

# What is not part of a step: generated, local or cached.
SKIPPED_DIRS = ("migrations", "__pycache__", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints")
SKIPPED_DIRS += ("node_modules", "staticfiles", ".venv*")
SKIPPED_FILES = ("*.pyc", "db.sqlite3*", "*.log")
# Top level only: the README always differs (it holds the generated section), the diff must
# not contain itself, and the lesson list is about the diff, not part of it.
SKIPPED_TOP_FILES = ("README.md", DIFF_NAME, LESSON_LIST)
# git's header lines for a created or deleted file (so `git apply` knows what to do).
MODE_LINES = {"added": ["new file mode 100644\n"], "removed": ["deleted file mode 100644\n"]}
# The three kinds of changed file, in the order the section and CHANGES.diff show them.
LESSON, SUPPORT, TESTS = "lesson", "support code", "tests"
KINDS = (LESSON, SUPPORT, TESTS)


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # added, changed or removed
    added: int | None  # None: a binary file
    removed: int | None
    diff: str = ""  # its part of CHANGES.diff

    @property
    def lines(self) -> int:
        """Lines added plus removed (0 for a binary file)."""
        return (self.added or 0) + (self.removed or 0)


def step_files(step: Path) -> list[str]:
    """The step's own files, as sorted posix paths relative to the step folder."""
    found = []
    for folder, dirs, files in os.walk(step):
        dirs[:] = [name for name in dirs if not matches(name, SKIPPED_DIRS)]
        for name in files:
            path = (Path(folder) / name).relative_to(step).as_posix()
            top_level_skip = "/" not in path and name in SKIPPED_TOP_FILES
            if not top_level_skip and not matches(name, SKIPPED_FILES):
                found.append(path)
    return sorted(found)


def matches(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def read_text(path: Path) -> str | None:
    """The file's text with LF line ends (a Windows checkout must not drift); None if binary."""
    try:
        return path.read_bytes().decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        return None


def lesson_files(step: Path) -> tuple[list[str], list[str]]:
    """The files that `step`'s lesson-files.txt names, in its order, and the problems with it:
    a missing list, or a line that names no file of the step (so the list cannot rot)."""
    listing = step / LESSON_LIST
    if not listing.exists():
        return [], [f"{relative(listing)} is missing (the files of the step's idea, one a line)"]
    files = step_files(step)
    lesson: list[str] = []
    problems = []
    for number, line in enumerate(lines_of(read_text(listing) or ""), start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        # A path names itself; anything else is a glob, where * also matches "/".
        found = [entry] if entry in files else [f for f in files if fnmatch.fnmatchcase(f, entry)]
        if not found:
            problems.append(
                f"{relative(listing)}, line {number}: {entry} is not a file of {step.name}"
            )
        lesson += [path for path in found if path not in lesson]
    return lesson, problems


def kind_of(path: str, lesson: list[str]) -> str:
    """The lesson (named in lesson-files.txt), the tests (under tests/) or support code."""
    if path in lesson:
        return LESSON
    return TESTS if path.startswith("tests/") else SUPPORT


def by_kind(paths: list[str], lesson: list[str]) -> dict[str, list[str]]:
    """`paths` in three groups: the lesson's in the order of its list, the others sorted."""
    groups: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for path in sorted(paths):
        groups[kind_of(path, lesson)].append(path)
    groups[LESSON].sort(key=lesson.index)
    return groups


def file_diff(old_step: Path, new_step: Path, path: str) -> FileChange | None:
    """The git-style diff of one file between two steps, or None when it did not change."""
    old, new = old_step / path, new_step / path
    if old.exists() and new.exists() and lf_bytes(old) == lf_bytes(new):
        return None
    status = "added" if not old.exists() else "removed" if not new.exists() else "changed"
    before = "/dev/null" if status == "added" else f"a/{path}"
    after = "/dev/null" if status == "removed" else f"b/{path}"
    header = [f"diff --git a/{path} b/{path}\n", *MODE_LINES.get(status, [])]
    old_text = read_text(old) if old.exists() else ""
    new_text = read_text(new) if new.exists() else ""
    if old_text is None or new_text is None:
        binary = f"Binary files {before} and {after} differ\n"
        return FileChange(path, status, None, None, "".join([*header, binary]))
    body = unified_lines(old_text, new_text, before, after)
    added = sum(line.startswith("+") for line in body[2:])
    removed = sum(line.startswith("-") for line in body[2:])
    return FileChange(path, status, added, removed, "".join(header + body))


def lf_bytes(path: Path) -> bytes:
    return path.read_bytes().replace(b"\r\n", b"\n")


def unified_lines(old_text: str, new_text: str, before: str, after: str) -> list[str]:
    """difflib's unified diff, 3 lines of context; a missing final newline marked as git does."""
    old_lines, new_lines = lines_of(old_text), lines_of(new_text)
    lines = []
    for line in difflib.unified_diff(old_lines, new_lines, before, after, n=3, lineterm="\n"):
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        lines.append(line)
    return lines


def lines_of(text: str) -> list[str]:
    """Lines with their "\\n", split on "\\n" only (str.splitlines also splits on form feeds)."""
    *lines, last = text.split("\n")
    return [line + "\n" for line in lines] + ([last] if last else [])


def step_changes(old_step: Path, new_step: Path, lesson: list[str]) -> dict[str, list[FileChange]]:
    """Every file that differs between the two steps, by kind (see `by_kind`)."""
    paths = sorted(set(step_files(old_step)) | set(step_files(new_step)))
    changes = {path: found for path in paths if (found := file_diff(old_step, new_step, path))}
    groups = by_kind(list(changes), lesson)
    return {kind: [changes[path] for path in groups[kind]] for kind in KINDS}


def whole_diff(changes: dict[str, list[FileChange]]) -> str:
    """CHANGES.diff: the lesson's files first, then the support code, then the tests."""
    return "".join(change.diff for kind in KINDS for change in changes[kind])


def first_step_section(step: Path, lesson: list[str]) -> str:
    groups = by_kind(step_files(step), lesson)
    intro = (
        "This is the starting point: there is no earlier step to compare with. Its files\n"
        "(migrations left out; generated by `make diffs`): first the lesson, the files a learner\n"
        f"reads first, which [`{LESSON_LIST}`]({LESSON_LIST}) names; then the rest: support code\n"
        "and tests.\n"
    )
    return "\n".join(
        [
            intro,
            "### The lesson",
            file_list(groups[LESSON]),
            "",
            "### The rest",
            "Support code:\n",
            file_list(groups[SUPPORT]),
            "\nTests (`tests/`):\n",
            file_list(groups[TESTS]),
        ]
    )


def file_list(paths: list[str]) -> str:
    return "\n".join(f"- [`{path}`]({path})" for path in paths) or "None."


def later_step_section(previous: Path, changes: dict[str, list[FileChange]]) -> str:
    intro = (
        f"Compared with `{previous.name}` (migrations and this README left out; generated by\n"
        "`make diffs`). First the lesson: the files of this step's idea, which\n"
        f"[`{LESSON_LIST}`]({LESSON_LIST}) names, with their diff. Then the rest: support code\n"
        "and tests.\n"
    )
    if not any(changes.values()):
        return intro + "\nNo file changed."
    lesson = changes[LESSON]
    parts = [intro, "### The lesson"]
    parts += [change_table(lesson)] if lesson else ["No file of the lesson changed."]
    for change in lesson:
        name = f"`{change.path}`"
        if change.status != "removed":
            name = f"[{name}]({change.path})"
        parts += [f"\n{name}, {change.status}:\n", fenced(change.diff, "diff")]
    parts += [
        "",
        "### The rest",
        "Support code and tests: what the lesson needs but does not teach. Their whole diff is\n"
        f"in [`{DIFF_NAME}`]({DIFF_NAME}), after the lesson's.\n",
        "Support code:\n",
        change_table(changes[SUPPORT]) if changes[SUPPORT] else "None.",
        "\nTests (`tests/`):\n",
        change_table(changes[TESTS]) if changes[TESTS] else "None.",
    ]
    return "\n".join(parts)


def change_table(changes: list[FileChange]) -> str:
    rows = ["| file | status | +lines | -lines |", "|---|---|--:|--:|"]
    for change in changes:
        name = f"`{change.path}`"
        if change.status != "removed":
            name = f"[{name}]({change.path})"
        counts = ("binary", "binary") if change.added is None else (change.added, change.removed)
        rows.append(f"| {name} | {change.status} | {counts[0]} | {counts[1]} |")
    return "\n".join(rows)


def fenced(text: str, language: str) -> str:
    """`text` in a Markdown code block whose fence no line of it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}{fence}"


def figures(changes: dict[str, list[FileChange]]) -> dict[str, int]:
    """Lines changed (added plus removed) per kind of file."""
    return {kind: sum(change.lines for change in changes[kind]) for kind in KINDS}


def figures_table(rows: list[tuple[str, dict[str, int]]]) -> str:
    """One row per step: its name (Markdown) and its figures."""
    lines = ["| step | lesson | support code | tests |", "|---|--:|--:|--:|"]
    for name, counts in rows:
        lines.append(f"| {name} | " + " | ".join(str(counts[kind]) for kind in KINDS) + " |")
    return "\n".join(lines)


def figures_section(rows: list[tuple[Path, dict[str, int]]]) -> str:
    intro = (
        "Lines changed in each step (added plus removed, against the step before): in its\n"
        f"lesson, the files its `{LESSON_LIST}` names; in support code; in tests (`tests/`).\n"
        "Generated by `make diffs`:\n\n"
    )
    named = [(f"[{step.name}]({step.name}/README.md#the-lesson)", counts) for step, counts in rows]
    return intro + figures_table(named)


def with_section(text: str, section: str, start_marker: str, end_marker: str) -> str | None:
    """`text` with what is between the markers replaced; None when the markers are missing."""
    start = text.find(start_marker)
    end = text.find(end_marker, start + 1) if start >= 0 else -1
    if start < 0 or end < 0:
        return None
    return text[: start + len(start_marker)] + "\n" + section + "\n" + text[end:]


def updated_readme(
    readme: Path, section: str, markers: tuple[str, str], problems: list[str]
) -> str | None:
    """The README's text with its generated section replaced, read right now; None (and a
    problem) when the file or its markers are missing."""
    if not readme.exists():
        problems.append(f"{relative(readme)} is missing")
        return None
    updated = with_section(read_text(readme) or "", section, *markers)
    if updated is None:
        problems.append(
            f"{relative(readme)} lacks the lines {markers[0]} and {markers[1]} "
            "around its generated section"
        )
    return updated


def planned_files(
    steps: list[Path] | None = None, root_readme: Path | None = None
) -> tuple[dict[Path, str], list[str]]:
    """Every generated file with its wanted content, and the problems found on the way.
    Default: the repository's steps and its README."""
    steps = step_dirs() if steps is None else steps
    root_readme = ROOT / "README.md" if root_readme is None else root_readme
    wanted: dict[Path, str] = {}
    problems: list[str] = []
    rows: list[tuple[Path, dict[str, int]]] = []
    previous = None
    for step in steps:
        lesson, lesson_problems = lesson_files(step)
        problems += lesson_problems
        if previous is None:
            section = first_step_section(step, lesson)
        else:
            changes = step_changes(previous, step, lesson)
            wanted[step / DIFF_NAME] = whole_diff(changes)
            section = later_step_section(previous, changes)
            rows.append((step, figures(changes)))
        markers = (START_MARKER, END_MARKER)
        if (updated := updated_readme(step / "README.md", section, markers, problems)) is not None:
            wanted[step / "README.md"] = updated
        previous = step
    markers = (FIGURES_START, FIGURES_END)
    if (
        updated := updated_readme(root_readme, figures_section(rows), markers, problems)
    ) is not None:
        wanted[root_readme] = updated
    return wanted, problems


def main(
    check: bool = False, steps: list[Path] | None = None, root_readme: Path | None = None
) -> int:
    """Write (or with `check`, compare) every generated file; 1 on a problem or drift."""
    wanted, problems = planned_files(steps, root_readme)
    stale = [path for path, text in wanted.items() if current_text(path) != text]
    for problem in problems:
        print(f"diffs: {problem}")
    if check:
        for path in stale:
            print(f"diffs: {relative(path)} is not what `make diffs` generates")
        if stale:
            print(f"diffs: run {FIX_COMMAND} and commit the result")
    else:
        for path in stale:
            path.write_bytes(wanted[path].encode("utf-8"))
            print(f"diffs: wrote {relative(path)}")
    if not stale and not problems:
        print("diffs: every CHANGES.diff and generated README section is up to date")
    return 1 if problems or (check and stale) else 0


def current_text(path: Path) -> str | None:
    return read_text(path) if path.exists() else None
