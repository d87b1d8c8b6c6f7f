"""The links each notebook starts and ends with: the previous notebook, its step's README, the
next notebook (root tooling, from issue 16); a notebook past the steps links to the README of
its folder in PAGES instead. Generated, never written by hand:

    python tools/notebook_links.py [--check]     (make notebook-links; tools/run.py notebook-links)

writes them into both twins, the .ipynb and its jupytext .py; `--check` writes nothing and
fails when a link is missing, stale or points at nothing (tools/tests runs it in make test).
Writing needs jupytext, so tools/run.py runs this file with the venv's python; the module
level and the check are stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from workshop import NOTEBOOKS, ROOT, STEP_NAME, relative, step_number

TAG = "navigation"  # the tag of the two link cells, in their metadata
CELL_IDS = ("navigation-top", "navigation-bottom")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
PY_CELL = re.compile(r"^# %%")
PY_FORMAT = "py:percent"
# Notebooks with no step folder of their own, by number: the folder whose README they follow.
PAGES = {6: "benchmarks"}  # 06_realtime_under_load reads benchmarks/ (run on step05)


def links_line(notebook: Path, numbered: list[Path], step: Path | None) -> str:
    """`← [previous](previous.ipynb) · [step NN](../stepNN_slug/README.md) · [next](next.ipynb) →`,
    without what the notebook has not (the first one has no previous, the last one no next);
    for a folder of PAGES, `[benchmarks](../benchmarks/README.md)` in the step's place."""
    index = numbered.index(notebook)
    parts = []
    if index > 0:
        parts.append(f"← [{numbered[index - 1].stem}]({numbered[index - 1].name})")
    if step is not None:
        readme = Path(os.path.relpath(step / "README.md", notebook.parent)).as_posix()
        label = f"step {step_number(step):02d}" if STEP_NAME.match(step.name) else step.name
        parts.append(f"[{label}]({readme})")
    if index + 1 < len(numbered):
        parts.append(f"[{numbered[index + 1].stem}]({numbered[index + 1].name}) →")
    # One link a line (Markdown shows them on one): the .py twin's lines stay under 100.
    return " ·\n".join(parts)


def expected(folder: Path = NOTEBOOKS, root: Path = ROOT) -> dict[Path, tuple[str, Path | None]]:
    """Each notebook NN_slug.ipynb of `folder`: its links line, and its step folder (its PAGES
    folder when it has one; None when `root` has neither)."""
    numbered = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    steps = {
        step_number(path): path
        for path in root.iterdir()
        if path.is_dir() and STEP_NAME.match(path.name)
    }
    found = {}
    for notebook in numbered:
        number = int(notebook.name[:2])
        step = steps.get(number) or (root / PAGES[number] if number in PAGES else None)
        found[notebook] = (links_line(notebook, numbered, step), step)
    return found


def cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_links_cell(cell: dict) -> bool:
    return cell.get("cell_type") == "markdown" and TAG in cell.get("metadata", {}).get("tags", [])


def py_cells(text: str) -> list[tuple[str, str]]:
    """The cells of a py:percent twin: (its `# %%` line, its text without the `# ` prefixes)."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if PY_CELL.match(line):
            cells.append((line, []))
        elif cells:
            cells[-1][1].append(line[2:] if line.startswith("# ") else line.lstrip("#"))
    return [(marker, "\n".join(lines).strip()) for marker, lines in cells]


def problems(folder: Path = NOTEBOOKS, root: Path = ROOT) -> list[str]:
    """What is wrong with the notebooks' links, one sentence each; empty when nothing is."""
    found = []
    for notebook, (line, step) in expected(folder, root).items():
        name = relative(notebook)
        if step is None:
            found.append(f"{name}: no step folder step{notebook.name[:2]}_* for its links")
        cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
        ends = {"first": cells[:1], "last": cells[-1:]}
        for end, cell in ends.items():
            if not cell or not is_links_cell(cell[0]):
                found.append(f"{name}: its {end} cell is not its links (tag {TAG!r})")
            elif cell_text(cell[0]) != line:
                stale = cell_text(cell[0])
                found.append(f"{name}: its {end} cell's links are stale: {stale!r}, not {line!r}")
        if sum(map(is_links_cell, cells)) > 2:
            found.append(f"{name}: more than two cells tagged {TAG!r}")
        for cell in filter(is_links_cell, cells):
            for target in LINK.findall(cell_text(cell)):
                if not (notebook.parent / target).exists():
                    found.append(f"{name}: its link to {target} points at nothing")
        found += twin_problems(notebook, line)
    return sorted(set(found), key=found.index)


def twin_problems(notebook: Path, line: str) -> list[str]:
    """The .py twin starts and ends with the same links as the notebook should."""
    twin = notebook.with_suffix(".py")
    if not twin.exists():
        return [f"{relative(twin)}: missing (the notebook's jupytext twin)"]
    cells = py_cells(twin.read_text(encoding="utf-8"))
    found = []
    for end, cell in {"first": cells[:1], "last": cells[-1:]}.items():
        if not cell or TAG not in cell[0][0] or cell[0][1] != line:
            found.append(f"{relative(twin)}: its {end} cell is not the links {line!r}")
    return found


def as_written(content, fmt: str) -> str:
    """The text of a twin as jupytext writes its file (`jupytext.write`: a newline at the end)."""
    import jupytext

    text = jupytext.writes(content, fmt=fmt)
    return text if text.endswith("\n") else text + "\n"


def twins_differ(notebook: Path) -> bool:
    """True when the .py twin is not what jupytext writes from the .ipynb (venv only)."""
    import jupytext

    twin = notebook.with_suffix(".py")
    written = as_written(jupytext.read(notebook), PY_FORMAT)
    return not twin.exists() or twin.read_text(encoding="utf-8") != written


def write(folder: Path = NOTEBOOKS, root: Path = ROOT) -> list[str]:
    """Put each notebook's links at its top and bottom, in both twins (venv only: jupytext).
    A notebook whose twins differ is left alone: writing both from the .ipynb would lose what
    the .py says. Returns what it could not do."""
    import jupytext
    from nbformat.v4 import new_markdown_cell

    refused = []
    for notebook, (line, _) in expected(folder, root).items():
        if twins_differ(notebook):
            refused.append(
                f"{relative(notebook)}: its .py twin differs from it; left alone. Sync them "
                f"first: jupytext --sync {relative(notebook)}"
            )
            continue
        content = jupytext.read(notebook)
        cells = [cell for cell in content.cells if not is_links_cell(cell)]
        top, bottom = (
            new_markdown_cell(line, id=cell_id, metadata={"tags": [TAG]}) for cell_id in CELL_IDS
        )
        content.cells = [top, *cells, bottom]
        for path, fmt in ((notebook, "ipynb"), (notebook.with_suffix(".py"), PY_FORMAT)):
            text = as_written(content, fmt)
            if path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                print(f"notebook-links: wrote {relative(path)}")
    return refused


def run_with(python: Path, check: bool = False) -> int:
    """`make notebook-links`, from tools/run.py: this file with the venv's python."""
    import subprocess

    command = [str(python), str(Path(__file__).resolve()), *(["--check"] if check else [])]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--check", action="store_true", help="write nothing; report")
    check = arguments.parse_args(argv).check
    found = ([] if check else write()) + problems()
    for problem in found:
        print(f"notebook-links: {problem}")
    if found and check:
        print(
            "notebook-links: `make notebook-links` (python tools/run.py notebook-links) writes them"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
