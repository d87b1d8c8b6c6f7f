"""Tests of INSTRUCTOR.md (issue 16): its agendas add up, every notebook block holds the
notebook's reading time by the rates the guide states, and each step README's "Classroom
time" line is that step's minutes in the guide's agendas."""

from __future__ import annotations

import ast
import json
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "INSTRUCTOR.md"
AGENDAS = ("Half day", "Full day")  # the guide's sections, each with its agenda table first
HALF_DAY_MINUTES = 210
NOTEBOOK_LINK = re.compile(r"notebooks/(\d{2})_\w+\.ipynb")
CLASSROOM_TIME = re.compile(
    # Within one paragraph: no blank line between the two figures.
    r"^Classroom time: about (?P<full>\d+) minutes in the full day\b(?:[^\n]|\n(?!\n))*?;"
    r"\s+(?P<half>\d+)\s+in its half day",
    re.MULTILINE,
)


# --- Reading the guide ------------------------------------------------------------------------


def sections(text: str) -> dict[str, str]:
    """The guide's `## ` sections by title."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table of `text`, each a list of rows keyed by the header's names."""
    found, lines = [], text.splitlines()
    index = 0
    while index < len(lines):
        if lines[index].startswith("|") and index + 1 < len(lines) and "---" in lines[index + 1]:
            header = cells(lines[index])
            index += 2
            rows = []
            while index < len(lines) and lines[index].startswith("|"):
                rows.append(dict(zip(header, cells(lines[index]), strict=True)))
                index += 1
            found.append(rows)
        else:
            index += 1
    return found


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def is_total(row: dict[str, str]) -> bool:
    return any(value == "total" for value in row.values())


def blocks(table: list[dict[str, str]]) -> list[dict[str, str]]:
    return [row for row in table if not is_total(row)]


def agenda(text: str, title: str) -> list[dict[str, str]]:
    return tables(sections(text)[title])[0]


def rates(text: str) -> tuple[int, int]:
    """The reading rates the guide states: words of prose, lines of code, a minute."""
    words = re.findall(r"\*\*(\d+) words a minute\*\*", text)
    lines = re.findall(r"\*\*(\d+) lines a minute\*\*", text)
    assert len(words) == 1 and len(lines) == 1, "the guide states each rate once, in bold"
    return int(words[0]), int(lines[0])


def clock(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def step_folder(number: str, root: Path = ROOT) -> Path:
    """The step whose code notebook `number` prints: its own, or for a notebook past the steps
    (06, on the benchmarks of step05) the newest step before it."""
    steps = sorted(path for path in root.glob("step[0-9][0-9]_*") if path.name[4:6] <= number)
    return steps[-1]


def notebook_blocks_too_short(text: str, root: Path = ROOT) -> list[str]:
    """Every row of the guide's tables that links a notebook and gives it fewer minutes than
    its reading time, said with the notebook's figures."""
    words_a_minute, lines_a_minute = rates(text)
    problems = []
    for table in tables(text):
        for row in (row for row in table if "minutes" in row):
            for number in set(NOTEBOOK_LINK.findall(" ".join(row.values()))):
                notebook = next((root / "notebooks").glob(f"{number}_*.ipynb"))
                reading = read_notebook(notebook, step_folder(number, root))
                needed = reading.minutes(words_a_minute, lines_a_minute)
                if int(row["minutes"]) < needed:
                    problems.append(
                        f"{notebook.name}: {row['minutes']} minutes in the guide, {needed:.1f}"
                        f" to read ({reading.words} words; {reading.code_lines} lines of code,"
                        f" {reading.printed_lines} more printed)"
                    )
    return problems


# --- Reading a notebook, as the guide's "How the minutes are counted" says --------------------


@dataclass(frozen=True)
class Reading:
    words: int  # of prose: every markdown cell
    code_lines: int  # non-blank lines of the code cells
    printed_lines: int  # non-blank lines of the code that show_source and show_file print

    def minutes(self, words_a_minute: int, lines_a_minute: int) -> float:
        return self.words / words_a_minute + (self.code_lines + self.printed_lines) / lines_a_minute


def non_blank(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip())


def read_notebook(notebook: Path, step: Path) -> Reading:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    prose = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown"]
    code = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    return Reading(
        words=sum(len(text.split()) for text in prose),
        code_lines=sum(non_blank(text) for text in code),
        printed_lines=printed_code_lines(code, step),
    )


def parse_cell(code: str) -> ast.Module:
    # A notebook awaits at the top level of a cell.
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    return compile(code, "<cell>", "exec", flags=flags)


def printed_code_lines(cells: list[str], step: Path) -> int:
    """The lines the cells' `show_file("path")` and `show_source(obj)` calls print, found
    without running anything: `obj` through the notebook's imports, in the step's files or
    the installed packages. Code defined in the notebook itself is already counted."""
    trees = [parse_cell(code) for code in cells]
    imported, defined = {}, set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                for alias in node.names:
                    imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        imported[alias.asname] = alias.name
                    else:
                        first = alias.name.split(".")[0]
                        imported[first] = first
        defined |= {
            node.name
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        }
    roots = [step] + [Path(entry) for entry in sys.path if entry and Path(entry).is_dir()]
    total = 0
    for tree in trees:
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id == "show_file":
                total += non_blank((step / ast.literal_eval(node.args[0])).read_text("utf-8"))
            elif node.func.id == "show_source":
                dotted = ast.unparse(node.args[0]).split(".")
                if dotted[0] in defined:
                    continue
                if dotted[0] not in imported:
                    raise LookupError(f"show_source({'.'.join(dotted)}): not imported by a cell")
                target = imported[dotted[0]].split(".") + dotted[1:]
                total += source_lines(target, roots)
    return total


def module_file(module: str, roots: list[Path]) -> Path | None:
    parts = module.split(".")
    for root in roots:
        for candidate in (
            root.joinpath(*parts).with_suffix(".py"),
            root.joinpath(*parts, "__init__.py"),
        ):
            if candidate.is_file():
                return candidate
    return None


def source_lines(dotted: list[str], roots: list[Path]) -> int:
    """Non-blank lines of the function or class `dotted` names, decorators included, as
    `inspect.getsourcelines` gives them."""
    found = resolve(dotted, roots, depth=0)
    if found is None:
        raise LookupError(f"show_source({'.'.join(dotted)}): no such function or class found")
    node, lines = found
    first = min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])
    return non_blank("\n".join(lines[first - 1 : node.end_lineno]))


def resolve(dotted: list[str], roots: list[Path], depth: int):
    """(node, its file's lines) of a dotted name: the longest prefix that is a module, then
    the names inside it; None when there is none."""
    for cut in range(len(dotted) - 1, 0, -1):
        module = ".".join(dotted[:cut])
        path = module_file(module, roots)
        if path is not None:
            return find_definition(path, module, dotted[cut:], roots, depth)
    return None


def statements(tree: ast.Module):
    """A module's top-level statements, those under a top-level `if` or `try` included."""
    for node in tree.body:
        yield node
        if isinstance(node, ast.If | ast.Try):
            handlers = [handler.body for handler in getattr(node, "handlers", [])]
            for block in [node.body, node.orelse, getattr(node, "finalbody", []), *handlers]:
                yield from block


def imported_module(module: str, node: ast.ImportFrom, path: Path) -> str:
    """The absolute name of the module a `from ... import` reads, relative ones included."""
    if node.level == 0:
        return node.module
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def find_definition(path: Path, module: str, names: list[str], roots: list[Path], depth: int):
    """names[0] in the module (defined there, or imported into it: `from .query import
    QuerySet`, `import x`), then names[1:] inside it; (node, lines) or None."""
    if depth > 10 or not names:
        return None
    lines = path.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    definitions = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    for node in statements(tree):
        if isinstance(node, definitions) and node.name == names[0]:
            return descend(node, lines, names[1:], path, module, roots, depth)
    for node in statements(tree):
        if isinstance(node, ast.ImportFrom):
            source = imported_module(module, node, path)
            for alias in node.names:
                if (alias.asname or alias.name) == names[0]:
                    return resolve([*source.split("."), alias.name, *names[1:]], roots, depth + 1)
                if alias.name == "*":
                    found = resolve([*source.split("."), *names], roots, depth + 1)
                    if found is not None:
                        return found
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if (alias.asname or alias.name.split(".")[0]) == names[0]:
                    target = alias.name if alias.asname else names[0]
                    return resolve([*target.split("."), *names[1:]], roots, depth + 1)
    return None


def descend(node, lines, names, path, module, roots, depth):
    """names[0] inside a class, else in its bases (as Python finds a method); (node, lines)."""
    if not names:
        return node, lines
    if not isinstance(node, ast.ClassDef):
        return None
    definitions = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    for child in node.body:
        if isinstance(child, definitions) and child.name == names[0]:
            return descend(child, lines, names[1:], path, module, roots, depth)
    for base in node.bases:
        found = find_definition(
            path, module, ast.unparse(base).split(".") + names, roots, depth + 1
        )
        if found is not None:
            return found
    return None


# --- The tests ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


@pytest.mark.parametrize("title", AGENDAS)
def test_each_agenda_adds_up_to_its_total(guide, title):
    table = agenda(guide, title)
    totals = [int(row["minutes"]) for row in table if is_total(row)]
    assert totals, f"{title}: no total row"
    assert sum(int(row["minutes"]) for row in blocks(table)) == totals[0]


def test_every_table_of_minutes_adds_up_to_its_total(guide):
    for table in tables(guide):
        totals = [int(row["minutes"]) for row in table if is_total(row)]
        if totals:
            assert sum(int(row["minutes"]) for row in blocks(table)) == totals[0], table


def test_the_half_day_is_210_minutes_breaks_included(guide):
    table = agenda(guide, "Half day")
    total = next(int(row["minutes"]) for row in table if is_total(row))
    assert total == HALF_DAY_MINUTES
    assert any(row["block"].startswith("Break") for row in table)


@pytest.mark.parametrize("title", AGENDAS)
def test_each_block_starts_when_the_one_before_ends(guide, title):
    table = blocks(agenda(guide, title))
    for before, after in zip(table, table[1:], strict=False):
        assert clock(after["start"]) == clock(before["start"]) + int(before["minutes"]), after


@pytest.mark.parametrize("title", AGENDAS)
def test_each_agenda_ends_at_the_time_its_section_says(guide, title):
    table = agenda(guide, title)
    first, last = re.search(r"(\d+:\d\d) to (\d+:\d\d)", sections(guide)[title]).groups()
    total = next(int(row["minutes"]) for row in table if is_total(row))
    assert clock(table[0]["start"]) == clock(first)
    assert clock(first) + total == clock(last)


def test_every_notebook_block_holds_the_notebooks_reading_time(guide):
    assert notebook_blocks_too_short(guide) == []


@pytest.mark.parametrize("title", AGENDAS)
def test_each_agenda_gives_every_notebook_a_block_in_class_or_at_home(guide, title):
    linked = set(NOTEBOOK_LINK.findall(sections(guide)[title]))
    expected = {path.name[:2] for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert linked == expected


@pytest.mark.parametrize("step", sorted(path.name for path in ROOT.glob("step[0-9][0-9]_*")))
def test_each_step_readmes_classroom_time_is_that_steps_minutes_in_the_agendas(guide, step):
    line = CLASSROOM_TIME.search((ROOT / step / "README.md").read_text(encoding="utf-8"))
    assert line, f"{step}/README.md: no 'Classroom time: about N minutes in the full day ...'"
    for title, group in (("Full day", "full"), ("Half day", "half")):
        minutes = sum(
            int(row["minutes"]) for row in agenda(guide, title) if row["step"] == step[4:6]
        )
        assert int(line.group(group)) == minutes, f"{step}: {title}"


def test_each_exercise_the_guide_names_exists_with_that_title(guide):
    """ "exercise 2.1" is exercises/step02_*/1-*/; "exercise 2.1: A typing indicator" has
    that title in its exercise.toml."""
    mentions = list(re.finditer(r"[Ee]xercise (\d+)\.(\d+)(?:: ([^|\n,]+))?", guide))
    assert mentions
    for mention in mentions:
        step, number, title = mention.groups()
        folders = list(ROOT.glob(f"exercises/step{int(step):02d}_*/{number}-*/exercise.toml"))
        assert len(folders) == 1, f"{mention.group(0)}: no such exercise in exercises/"
        if title:
            shipped = tomllib.loads(folders[0].read_text(encoding="utf-8"))["title"]
            assert title.strip() == shipped, mention.group(0)


# --- The measure itself, on a notebook made up here ----------------------------------------------


def make_notebook(root: Path, cells_: list[tuple[str, str]]) -> Path:
    """notebooks/01_made_up.ipynb and its step folder, step01_made_up, with one module."""
    step = root / "step01_made_up"
    (step / "chat").mkdir(parents=True)
    (step / "chat" / "__init__.py").write_text("")
    (step / "chat" / "things.py").write_text(
        "def helper():\n    return 1\n\n\nclass Base:\n    def inherited(self):\n"
        "        return 2\n\n\nclass Thing(Base):\n    @staticmethod\n"
        "    def method():\n\n        return 3\n"
    )
    (root / "notebooks").mkdir()
    notebook = root / "notebooks" / "01_made_up.ipynb"
    content = [{"cell_type": kind, "source": source, "metadata": {}} for kind, source in cells_]
    notebook.write_text(json.dumps({"cells": content}))
    return notebook


def test_reading_counts_prose_code_and_the_code_the_cells_print(tmp_path):
    code = (
        "from chat.things import Thing, helper\n\n"
        "show_source(Thing.method)  # 3 lines: the decorator too\n"
        "show_source(Thing.inherited)  # 2, found in its base class\n"
        "show_file('chat/things.py')  # 9\n"
        "await something()\n"
    )
    notebook = make_notebook(tmp_path, [("markdown", "Four words of prose."), ("code", code)])
    assert read_notebook(notebook, tmp_path / "step01_made_up") == Reading(4, 5, 14)


def test_a_show_source_of_something_not_imported_fails_the_measure(tmp_path):
    notebook = make_notebook(tmp_path, [("code", "show_source(Nowhere.method)\n")])
    with pytest.raises(LookupError, match="Nowhere.method"):
        read_notebook(notebook, tmp_path / "step01_made_up")


def test_a_notebook_grown_past_its_block_is_reported(tmp_path):
    guide = (
        "Prose at **100 words a minute**, code at **10 lines a minute**.\n\n"
        "| minutes | what |\n|--:|---|\n| 2 | [notebook 01](notebooks/01_made_up.ipynb) |\n"
    )
    make_notebook(tmp_path, [("markdown", "word " * 190), ("code", "x = 1\n")])
    assert notebook_blocks_too_short(guide, tmp_path) == []
    grown = tmp_path / "notebooks" / "01_made_up.ipynb"
    content = json.loads(grown.read_text())
    content["cells"].append({"cell_type": "markdown", "source": "more " * 50, "metadata": {}})
    grown.write_text(json.dumps(content))
    assert notebook_blocks_too_short(guide, tmp_path) == [
        "01_made_up.ipynb: 2 minutes in the guide, 2.5 to read (240 words; 1 lines of code,"
        " 0 more printed)"
    ]
