"""Tests of the notebooks' links (tools/notebook_links.py): the repository's notebooks carry them,
and the writer and the check work, on two small notebooks and steps built in a temporary folder."""

from pathlib import Path

import jupytext
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import notebook_links

FIRST_LINKS = "[step 01](../step01_start/README.md) ·\n[02_next](02_next.ipynb) →"


def test_every_notebook_starts_and_ends_with_its_links():
    assert notebook_links.problems() == []


def test_every_notebooks_py_twin_is_what_jupytext_writes_from_it():
    differing = [
        path.name for path in notebook_links.expected() if notebook_links.twins_differ(path)
    ]
    assert differing == []


def add_step_and_notebook(root: Path, number: int, slug: str, step: bool = True) -> Path:
    """stepNN_slug/README.md (unless `step` is False) and notebooks/NN_slug.ipynb with its .py
    twin."""
    if step:
        folder = root / f"step{number:02d}_{slug}"
        folder.mkdir()
        (folder / "README.md").write_text(f"# Step {number:02d}\n", encoding="utf-8")
    folder = root / "notebooks"
    folder.mkdir(exist_ok=True)
    content = new_notebook(
        cells=[new_markdown_cell(f"# Step {number:02d}"), new_code_cell("print('hello')")],
        metadata={"jupytext": {"formats": "ipynb,py:percent"}},
    )
    notebook = folder / f"{number:02d}_{slug}.ipynb"
    for path, fmt in ((notebook, "ipynb"), (notebook.with_suffix(".py"), "py:percent")):
        path.write_text(notebook_links.as_written(content, fmt), encoding="utf-8")
    return notebook


@pytest.fixture
def workshop(tmp_path):
    """Two steps, each with its notebook, which have no links yet."""
    add_step_and_notebook(tmp_path, 1, "start")
    add_step_and_notebook(tmp_path, 2, "next")
    return tmp_path


def problems(root: Path) -> list[str]:
    return notebook_links.problems(root / "notebooks", root)


def write(root: Path) -> list[str]:
    return notebook_links.write(root / "notebooks", root)


def first_cell(notebook: Path) -> str:
    return notebook_links.cell_text(jupytext.read(notebook).cells[0])


def test_a_notebook_without_links_fails_the_check(workshop):
    found = problems(workshop)
    assert any("01_start.ipynb: its first cell is not its links" in line for line in found)
    assert any("02_next.ipynb: its last cell is not its links" in line for line in found)


def test_written_links_pass_the_check(workshop):
    assert write(workshop) == []
    assert problems(workshop) == []


def test_the_first_notebook_links_to_its_step_and_the_next_notebook_in_both_twins(workshop):
    write(workshop)
    notebook = workshop / "notebooks" / "01_start.ipynb"
    assert first_cell(notebook) == FIRST_LINKS
    assert first_cell(notebook.with_suffix(".py")) == FIRST_LINKS


def test_links_go_stale_when_a_notebook_is_added(workshop):
    write(workshop)
    add_step_and_notebook(workshop, 3, "last")
    found = problems(workshop)
    assert any("02_next.ipynb: its first cell's links are stale" in line for line in found)


def test_a_link_to_a_readme_that_is_gone_points_at_nothing(workshop):
    write(workshop)
    (workshop / "step02_next" / "README.md").unlink()
    found = problems(workshop)
    assert any("link to ../step02_next/README.md points at nothing" in line for line in found)


def test_a_notebook_past_the_steps_links_to_the_readme_of_its_folder(workshop):
    (workshop / "benchmarks").mkdir()
    (workshop / "benchmarks" / "README.md").write_text("# Benchmarks\n", encoding="utf-8")
    notebook = add_step_and_notebook(workshop, 6, "under_load", step=False)
    assert write(workshop) == []
    assert problems(workshop) == []
    links = notebook_links.cell_text(jupytext.read(notebook).cells[-1])
    assert links == "← [02_next](02_next.ipynb) ·\n[benchmarks](../benchmarks/README.md)"


def test_a_notebook_with_no_step_folder_and_no_page_fails_the_check(workshop):
    add_step_and_notebook(workshop, 7, "orphan", step=False)
    write(workshop)
    found = problems(workshop)
    assert any("07_orphan.ipynb: no step folder step07_*" in line for line in found)


def test_writing_leaves_a_notebook_alone_when_its_py_twin_differs(workshop):
    twin = workshop / "notebooks" / "01_start.py"
    edited = twin.read_text(encoding="utf-8").replace("hello", "edited in the .py only")
    twin.write_text(edited, encoding="utf-8")
    refused = write(workshop)
    assert len(refused) == 1 and "01_start.ipynb: its .py twin differs" in refused[0]
    assert twin.read_text(encoding="utf-8") == edited
