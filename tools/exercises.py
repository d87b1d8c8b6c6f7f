"""`make exercises`, `make exercise STEP=N EX=K`, `make solve STEP=N EX=K` (root tooling): the
exercises in exercises/, each checked by its test inside its step folder, solved by its patch.

Stdlib only, like the rest of tools/ (it runs before the venv exists); the checks run the
venv's pytest. `python tools/exercises.py write-patch ...` is for maintainers (see
exercises/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

import diffs
from workshop import ROOT, STEP_NAME, UsageError, relative, step_dirs

EXERCISES = ROOT / "exercises"
EXERCISE_NAME = re.compile(r"^(\d+)-[a-z0-9]+(?:-[a-z0-9]+)*$")
ABOUT, README, TEST, SOLUTION = "exercise.toml", "README.md", "test_exercise.py", "solution.patch"
# The first line of the copy of an exercise's test in a step's tests/: a file there without it
# is someone's own, and is neither overwritten nor removed.
COPY_MARK = "# Copied here by tools/exercises.py for one check; it removes this file after it.\n"
# What `make test` runs of a step's own tests with its solutions applied (exercise.toml names
# the files): what starts no server or browser, on the in-memory channel layer only.
SUITE_OPTIONS = ["-m", "not servers", "-k", "not redis"]
RUN_TIMEOUT = 15 * 60  # seconds: a check that hangs fails instead of stopping its caller
MESSAGE_LIMIT = 600  # characters of a failure's message shown to a learner
NOT_STARTED = "the check could not start"  # its module could not be imported


@dataclass(frozen=True)
class Exercise:
    """One folder exercises/stepNN_slug/K-slug/ and what its exercise.toml says."""

    step: int
    number: int
    folder: Path
    title: str
    summary: str
    suite: tuple[str, ...] = ()  # the step's test files make test reruns with the solution

    @property
    def label(self) -> str:
        """The exercise's name, as "exercise 2.1" for step 02's first."""
        return f"exercise {self.step}.{self.number}"

    @property
    def step_name(self) -> str:
        return self.folder.parent.name

    @property
    def check_file(self) -> str:
        """The name its test has while it runs in the step's tests/."""
        return f"test_exercise_{self.folder.name.replace('-', '_')}.py"

    @property
    def command(self) -> str:
        return f"make exercise STEP={self.step} EX={self.number}"


def find_exercises(root: Path = EXERCISES) -> list[Exercise]:
    """Every exercise, by step then number."""
    found = []
    for step_folder in sorted(root.iterdir()) if root.is_dir() else []:
        step_match = STEP_NAME.match(step_folder.name)
        if not (step_folder.is_dir() and step_match):
            continue
        for folder in sorted(step_folder.iterdir()):
            match = EXERCISE_NAME.match(folder.name)
            if folder.is_dir() and match:
                found.append(load(folder, int(step_match.group(1)), int(match.group(1))))
    return sorted(found, key=lambda exercise: (exercise.step, exercise.number))


def load(folder: Path, step: int, number: int) -> Exercise:
    try:
        about = tomllib.loads((folder / ABOUT).read_text(encoding="utf-8"))
        return Exercise(
            step, number, folder, about["title"], about["summary"], tuple(about.get("suite", ()))
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError) as error:
        raise UsageError(f"{relative(folder / ABOUT)}: {error!r}") from error


def find_exercise(step: int | None, number: int | None, root: Path = EXERCISES) -> Exercise:
    exercises = find_exercises(root)
    if step is None or number is None:
        raise UsageError("say which exercise: STEP=N EX=K (see `make exercises`)")
    for exercise in exercises:
        if (exercise.step, exercise.number) == (step, number):
            return exercise
    of_step = [str(exercise.number) for exercise in exercises if exercise.step == step]
    known = f"step {step:02d} has exercises {', '.join(of_step)}" if of_step else "none there"
    raise UsageError(f"no exercise {number} in step {step:02d} ({known}; see `make exercises`)")


def step_folder_of(exercise: Exercise, steps: list[Path] | None = None) -> Path:
    for folder in steps if steps is not None else step_dirs():
        if folder.name == exercise.step_name:
            return folder
    raise UsageError(f"{relative(exercise.folder)}: no step folder {exercise.step_name}")


# Listing


def listing(exercises: list[Exercise]) -> str:
    """`make exercises`: every exercise, with the command that checks it."""
    lines = [
        "Exercises (how to work one: exercises/README.md). Check one with the command under it;",
        "without make: python tools/run.py exercise --step N --ex K.",
    ]
    step = None
    for exercise in exercises:
        if exercise.step_name != step:
            step = exercise.step_name
            lines += ["", step]
        lines.append(f"  {exercise.step}.{exercise.number} {exercise.title}")
        lines.append(f"      {exercise.summary}")
        lines.append(f"      {exercise.command}")
    return "\n".join(lines)


def as_json(exercises: list[Exercise]) -> str:
    rows = [{"step": e.step, "ex": e.number, "title": e.title} for e in exercises]
    return json.dumps(rows, indent=2)


# Running the checks


@dataclass
class Outcome:
    """One test of a check: its name in words, passed/failed/skipped, and what went wrong."""

    name: str
    status: str
    message: str = ""


@dataclass
class Run:
    """One pytest run in a step folder: each exercise's outcomes, and the other tests'."""

    code: int
    by_exercise: dict[Exercise, list[Outcome]] = field(default_factory=dict)
    others: list[Outcome] = field(default_factory=list)
    output: str = ""

    def failed_others(self) -> list[Outcome]:
        return [outcome for outcome in self.others if outcome.status == "failed"]


def run_checks(
    python: Path,
    step_folder: Path,
    exercises: list[Exercise],
    suite: list[str] = (),
    options: list[str] = (),
) -> Run:
    """The exercises' tests (and the step's own `suite` files), run with the step's pytest.ini
    and conftest: each test is copied into the step's tests/ for the run, then removed."""
    copies = []
    try:
        for exercise in exercises:
            copies.append(place_check(exercise, step_folder))
        with tempfile.TemporaryDirectory() as folder:
            junit = Path(folder) / "check.xml"
            paths = [f"tests/{exercise.check_file}" for exercise in exercises] + list(suite)
            command = [str(python), "-m", "pytest", *paths, *options, "-p", "no:cacheprovider"]
            command += ["-q", "--tb=short", "--no-header", f"--junitxml={junit}"]
            # No __pycache__ left beside the copy in a learner's tests/.
            env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
            try:
                done = subprocess.run(
                    command,
                    cwd=step_folder,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                    errors="replace",
                    timeout=RUN_TIMEOUT,
                    check=False,
                )
                code, output = done.returncode, done.stdout
            except subprocess.TimeoutExpired:
                code, output = -1, f"the tests did not end within {RUN_TIMEOUT} s: stopped"
            run = Run(code, output=output)
            cases = junit_cases(junit, step_folder) if junit.exists() else []
    finally:
        for copy in copies:
            copy.unlink(missing_ok=True)
    modules = {f"tests.{Path(exercise.check_file).stem}": exercise for exercise in exercises}
    for exercise in exercises:
        run.by_exercise[exercise] = []
    for module, outcome in cases:
        exercise = modules.get(module)
        (run.by_exercise[exercise] if exercise else run.others).append(outcome)
    return run


def place_check(exercise: Exercise, step_folder: Path) -> Path:
    """Copy the exercise's test into the step's tests/ (with the mark that makes it ours)."""
    target = step_folder / "tests" / exercise.check_file
    if target.exists() and not target.read_text(encoding="utf-8").startswith(COPY_MARK):
        raise UsageError(f"{relative(target)} is not a copy of ours: rename it, then check again")
    source = (exercise.folder / TEST).read_text(encoding="utf-8")
    target.write_text(COPY_MARK + source, encoding="utf-8")
    return target


def junit_cases(path: Path, step_folder: Path) -> list[tuple[str, Outcome]]:
    """(module, outcome) for every <testcase> of a junit report."""
    try:
        cases = ElementTree.parse(path).getroot().iter("testcase")
    except ElementTree.ParseError:
        return []
    found = []
    for case in cases:
        # A module that cannot be collected is a testcase named for the module, no class.
        module = case.get("classname") or case.get("name", "")
        name = NOT_STARTED if not case.get("classname") else words(case)
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped")
        if problem is not None:
            found.append((module, Outcome(name, "failed", message_of(problem, step_folder))))
        elif skipped is not None:
            found.append((module, Outcome(name, "skipped", skipped.get("message", ""))))
        else:
            found.append((module, Outcome(name, "passed")))
    return found


def words(case: ElementTree.Element) -> str:
    """`test_the_typist_does_not_hear_herself[x]` -> "the typist does not hear herself (x)"."""
    name = case.get("name", "")
    name, _, parameters = name.partition("[")
    text = name.removeprefix("test_").replace("_", " ")
    return f"{text} ({parameters.rstrip(']')})" if parameters else text


def message_of(problem: ElementTree.Element, step_folder: Path) -> str:
    """What went wrong, in the test's own words: its assertion message, never a traceback."""
    message = problem.get("message", "")
    during = re.match(r'failed on (?:setup|teardown) with "(.*)"$', message, re.DOTALL)
    if during:
        message = during.group(1)
    if message in ("", "collection failure"):  # the module could not even be imported
        return failure_of_import(problem.text or "", step_folder)
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    for prefix in ("AssertionError: ", "Failed: "):
        first = first.removeprefix(prefix)
    return shorten(first)


def failure_of_import(text: str, step_folder: Path) -> str:
    """The exception that stopped the import, and where in the step it happened."""
    errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    error = next(
        (line for line in reversed(errors) if re.match(r"^\w+(Error|Exception)", line)), ""
    )
    error = error or (errors[-1] if errors else "it could not be imported")
    places = re.findall(r'File "([^"]+)", line (\d+)|^(\S+\.py):(\d+)', text, re.MULTILINE)
    where = ""
    for quoted, line, bare, bare_line in reversed(places):
        path, number = (quoted, line) if quoted else (bare, bare_line)
        shown = inside(Path(path), step_folder)
        if shown and not shown.startswith("tests/"):
            where = f" ({shown}, line {number})"
            break
    return shorten(error + where)


def inside(path: Path, folder: Path) -> str | None:
    """`path` relative to `folder` (posix), or None when it is elsewhere."""
    candidate = path if path.is_absolute() else folder / path
    try:
        return candidate.resolve().relative_to(folder.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def shorten(text: str) -> str:
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def report(exercise: Exercise, run: Run) -> tuple[str, bool]:
    """The check's result for a learner, in words; and whether the exercise is solved."""
    outcomes = run.by_exercise.get(exercise, [])
    lines = [f"{exercise.title} ({exercise.label})"]
    if not outcomes:
        tail = [line for line in run.output.splitlines() if line.strip()][-1:]
        lines.append(f"  The check could not run (pytest exited with {run.code}): {' '.join(tail)}")
        return "\n".join(lines), False
    said = None
    for outcome in outcomes:
        if outcome.status == "passed":
            lines.append(f"  done     {outcome.name}")
        elif outcome.status == "skipped":
            lines.append(f"  skipped  {outcome.name}: {outcome.message}")
        else:
            lines.append(f"  not yet  {outcome.name}")
            message = "(as above)" if outcome.message == said else outcome.message
            lines += [f"           {line}" for line in message.splitlines()]
            said = outcome.message
    passed = sum(outcome.status == "passed" for outcome in outcomes)
    solved = passed == len(outcomes)
    readme = relative(exercise.folder / README)
    if solved:
        lines.append(f"\nAll {passed} checks pass: solved.")
    elif passed == 0 and outcomes[0].name == NOT_STARTED:
        lines.append(f"\nFix that first, then check again. The exercise: {readme}")
    else:
        lines.append(f"\n{passed} of {len(outcomes)} checks pass. Stuck? The hints: {readme}")
    return "\n".join(lines), solved


def check(python: Path, exercise: Exercise, step_folder: Path) -> int:
    """`make exercise`: run the check on the step folder as it is; 0 once solved, else 1."""
    print(f"Checking {relative(step_folder)} ({exercise.command}) ...", flush=True)
    text, solved = report(exercise, run_checks(python, step_folder, [exercise]))
    print(text)
    return 0 if solved else 1


# The worked solutions: a git-style patch against the step folder, applied without git (a
# zip download has none), all of it or nothing.


@dataclass
class Hunk:
    old_start: int
    new_start: int
    old: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)


@dataclass
class FilePatch:
    path: str
    created: bool  # the patch creates the file
    hunks: list[Hunk] = field(default_factory=list)


HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def parse_patch(text: str) -> list[FilePatch]:
    """The files of a patch as `make diffs` writes them (diffs.file_diff): created or changed."""
    lines = diffs.lines_of(text.replace("\r\n", "\n"))
    files: list[FilePatch] = []
    old_name, index = None, 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.startswith("--- "):
            old_name = line[4:].strip()
        elif line.startswith("+++ "):
            new_name = line[4:].strip()
            if new_name == "/dev/null":
                raise UsageError("a solution may not delete a file")
            files.append(FilePatch(new_name.removeprefix("b/"), created=old_name == "/dev/null"))
        elif match := HUNK_HEADER.match(line):
            old_count, new_count = int(match.group(2) or 1), int(match.group(4) or 1)
            hunk = Hunk(int(match.group(1)), int(match.group(3)))
            files[-1].hunks.append(hunk)
            index = read_hunk(lines, index, hunk, old_count, new_count)
    return files


def read_hunk(lines: list[str], index: int, hunk: Hunk, old_count: int, new_count: int) -> int:
    """Fill `hunk` from lines[index:], counting its lines (so that a removed line "-- x",
    which reads "--- x", stays a line of the hunk); the index after it."""
    last = None
    while index < len(lines):
        line = lines[index]
        if line.startswith("\\"):  # "\ No newline at end of file": the line before has none
            for side in [hunk.old] * (last != "+") + [hunk.new] * (last != "-"):
                side[-1] = side[-1].removesuffix("\n")
        elif len(hunk.old) < old_count or len(hunk.new) < new_count:
            tag, text = line[:1], line[1:]
            if line == "\n":  # a blank context line whose space an editor took away
                tag, text = " ", "\n"
            if tag not in (" ", "-", "+"):
                raise UsageError(f"not a line of a hunk: {line!r}")
            if tag != "+":
                hunk.old.append(text)
            if tag != "-":
                hunk.new.append(text)
            last = tag
        else:
            break
        index += 1
    return index


def apply_hunks(lines: list[str], hunks: list[Hunk], reverse: bool) -> list[str] | Hunk:
    """`lines` with every hunk applied (undone, `reverse`); the first hunk that does not fit.

    A hunk's lines must match exactly; they may have moved (lines added or removed above).
    """
    result, offset, floor = list(lines), 0, 0
    for hunk in hunks:
        old, new = (hunk.new, hunk.old) if reverse else (hunk.old, hunk.new)
        start = (hunk.new_start if reverse else hunk.old_start) - (1 if old else 0) + offset
        at = find_block(result, old, max(start, floor), floor)
        if at is None:
            return hunk
        result[at : at + len(old)] = new
        offset += len(new) - len(old)
        floor = at + len(new)
    return result


def find_block(lines: list[str], block: list[str], near: int, floor: int) -> int | None:
    """Where `block` is in `lines` at or after `floor`, the nearest to `near` first."""
    last = len(lines) - len(block)
    for distance in range(max(near - floor, last - near, 0) + 1):
        for at in (near - distance, near + distance):
            if floor <= at <= last and lines[at : at + len(block)] == block:
                return at
    return None


@dataclass
class Planned:
    """What a patch does to the step: each file's new text, or what stands in its way."""

    texts: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def plan(patches: list[FilePatch], step_folder: Path, reverse: bool = False) -> Planned:
    """Each file's text with the patch applied (or undone); nothing is written here."""
    planned = Planned()
    for patch in patches:
        path = step_folder / patch.path
        text, crlf = read_for_patch(path)
        if patch.created and not reverse:
            if text is not None:
                planned.problems.append(f"{patch.path} exists already; the solution creates it")
                continue
            text = ""
        elif text is None:
            planned.problems.append(f"{patch.path} is missing")
            continue
        result = apply_hunks(diffs.lines_of(text), patch.hunks, reverse)
        if patch.created and reverse and result:
            result = patch.hunks[0]  # undone, a file the solution created is empty
        if isinstance(result, Hunk):
            line = result.new_start if reverse else result.old_start
            planned.problems.append(
                f"{patch.path}: the lines the solution changes, near line {line}, are not "
                "the ones it expects (changed since the step was shipped?)"
            )
            continue
        new_text = "".join(result)
        planned.texts[patch.path] = new_text.replace("\n", "\r\n") if crlf else new_text
    return planned


def read_for_patch(path: Path) -> tuple[str | None, bool]:
    """The file's text with LF line ends (None if missing), and whether it had CRLF (a
    Windows checkout): the patched file keeps its line ends."""
    if not path.exists():
        return None, False
    raw = path.read_bytes().decode("utf-8")
    return raw.replace("\r\n", "\n"), "\r\n" in raw


def apply_solution(exercise: Exercise, step_folder: Path) -> list[str]:
    """Apply the exercise's solution to `step_folder`, all of it or nothing: the files it
    changed. UsageError, saying why, when the step's files are not what it expects."""
    patches = solution_of(exercise)
    planned = plan(patches, step_folder)
    if planned.problems:
        already = not plan(patches, step_folder, reverse=True).problems
        raise SolutionDoesNotFit(planned.problems, already)
    for name, text in planned.texts.items():
        path = step_folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    return list(planned.texts)


def solution_of(exercise: Exercise) -> list[FilePatch]:
    return parse_patch((exercise.folder / SOLUTION).read_text(encoding="utf-8"))


class SolutionDoesNotFit(Exception):
    def __init__(self, problems: list[str], already: bool):
        super().__init__("; ".join(problems))
        self.problems = problems
        self.already = already  # the step holds the solution already


def solve(exercise: Exercise, step_folder: Path) -> int:
    """`make solve`: apply the worked solution to the step folder, or refuse and say why."""
    try:
        changed = apply_solution(exercise, step_folder)
    except SolutionDoesNotFit as refusal:
        if refusal.already:
            print(f"The solution of {exercise.label} is applied already: nothing to do.")
            return 0
        print(f"Not applied: the solution of {exercise.label} does not fit the step as it is:")
        print("\n".join(f"  {problem}" for problem in refusal.problems))
        print(undo_advice(step_folder, [patch.path for patch in solution_of(exercise)]))
        return 1
    print(
        f"Applied the solution of {exercise.label} ({exercise.title}) to {relative(step_folder)}:"
    )
    print(f"  changed {', '.join(changed)}")
    print(f"Check it: {exercise.command}. Read it: {relative(exercise.folder / SOLUTION)}")
    return 0


def undo_advice(step_folder: Path, paths: list[str]) -> str:
    """How to put the files back as shipped, in this kind of copy of the repository."""
    solution = "Your own work is still there, untouched."
    files = " ".join(f"{relative(step_folder)}/{path}" for path in paths)
    if (ROOT / ".git").exists():
        return (
            f"{solution} To see it: git diff -- {files}\n"
            f"To drop it (keep a copy first) and solve: git checkout -- {files}, then solve again."
        )
    return (
        f"{solution} To start again from the shipped step, copy these files from a fresh download "
        f"of the repository: {files}"
    )


# make test: the exercises cannot rot


def copy_step(step_folder: Path, into: Path) -> Path:
    """A copy of the step folder without its database and caches, for a proof to change."""
    ignore = shutil.ignore_patterns(
        "__pycache__", ".pytest_cache", "db.sqlite3*", "staticfiles", "*.pyc"
    )
    return Path(shutil.copytree(step_folder, into / step_folder.name, ignore=ignore))


def not_passed(outcomes: list[Outcome]) -> list[str]:
    return [f"{o.status}: {o.name}: {o.message}" for o in outcomes if o.status != "passed"]


def prove_fails_when_shipped(python: Path, step: Path, exercises: list[Exercise]) -> dict:
    """Each exercise's check on a copy of the shipped step: {exercise: problems}; none when
    at least one of its tests fails there (an exercise must leave something to do)."""
    with tempfile.TemporaryDirectory() as folder:
        run = run_checks(python, copy_step(step, Path(folder)), exercises)
    problems = {}
    for exercise in exercises:
        outcomes = run.by_exercise[exercise]
        if not outcomes:
            problems[exercise] = [f"no test ran (pytest exited with {run.code}):\n{run.output}"]
        elif all(outcome.status == "passed" for outcome in outcomes):
            problems[exercise] = ["every test of its check passes on the shipped step"]
        else:
            problems[exercise] = []
    return problems


def prove_solution_passes(python: Path, step: Path, exercise: Exercise) -> list[str]:
    """The exercise's check on a copy of the step with its solution alone applied: what did
    not pass (nothing, when the solution works)."""
    with tempfile.TemporaryDirectory() as folder:
        copy = copy_step(step, Path(folder))
        try:
            apply_solution(exercise, copy)
        except SolutionDoesNotFit as refusal:
            return [f"the solution does not apply: {problem}" for problem in refusal.problems]
        run = run_checks(python, copy, [exercise])
    outcomes = run.by_exercise[exercise]
    return not_passed(outcomes) or ([] if outcomes else [f"no test ran:\n{run.output}"])


def prove_solutions_together(python: Path, step: Path, exercises: list[Exercise]) -> list[str]:
    """A copy of the step with every one of its solutions applied: what did not pass of the
    exercises' checks and of the step's own tests that exercise.toml names (SUITE_OPTIONS)."""
    suite = sorted({path for exercise in exercises for path in exercise.suite})
    with tempfile.TemporaryDirectory() as folder:
        copy = copy_step(step, Path(folder))
        try:
            for exercise in exercises:
                apply_solution(exercise, copy)
        except SolutionDoesNotFit as refusal:
            return [f"the solutions do not apply together: {p}" for p in refusal.problems]
        run = run_checks(python, copy, exercises, suite, SUITE_OPTIONS)
    problems = [p for e in exercises for p in not_passed(run.by_exercise[e])]
    problems += not_passed(run.failed_others())
    ran = sum(map(len, run.by_exercise.values())) + len(run.others)
    if not ran or run.code not in (0, 1):
        problems.append(f"pytest exited with {run.code} after {ran} tests:\n{run.output}")
    return problems


def write_patch(exercise: Exercise, step_folder: Path, solved: Path) -> str:
    """For maintainers: the exercise's solution.patch, from a solved copy of the step (every
    file that differs from the step, in `make diffs`' format). Returns the patch's path."""
    paths = sorted(set(diffs.step_files(step_folder)) | set(diffs.step_files(solved)))
    changes = [found for path in paths if (found := diffs.file_diff(step_folder, solved, path))]
    if any(change.status == "removed" for change in changes):
        raise UsageError("a solution may not delete a file")
    target = exercise.folder / SOLUTION
    target.write_text("".join(change.diff for change in changes), encoding="utf-8")
    return relative(target)


def main(argv: list[str] | None = None) -> int:
    """The maintainers' command line; learners use tools/run.py (make)."""
    parser = argparse.ArgumentParser(prog="tools/exercises.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("write-patch", help="write solution.patch from a solved copy")
    write.add_argument("--step", type=int, required=True)
    write.add_argument("--ex", type=int, required=True)
    write.add_argument("solved", type=Path, help="a copy of the step folder, solved")
    args = parser.parse_args(argv)
    try:
        exercise = find_exercise(args.step, args.ex)
        print(write_patch(exercise, step_folder_of(exercise), args.solved.resolve()))
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
