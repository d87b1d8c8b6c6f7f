"""Tests of `make diffs` (tools/diffs.py): the lesson first, then the rest, and the figures,
on two small step folders built in a temporary directory."""

from pathlib import Path

import pytest

import diffs

README = "# Step\n\n## What changed\n<!-- what-changed:start -->\n<!-- what-changed:end -->\n"
ROOT_README = "# Workshop\n\n<!-- step-figures:start -->\n<!-- step-figures:end -->\n\nEnd.\n"
LESSON_HEADER = "# The files of this step's idea.\n\n"


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def workshop(tmp_path):
    """Two steps: step02 adds a consumer (its lesson), a helper module and a test, and changes
    the settings (also its lesson) and pytest.ini (support code)."""
    first, second = tmp_path / "step01_start", tmp_path / "step02_next"
    common = {"README.md": README, "pytest.ini": "[pytest]\n", "chat/models.py": "class Room:\n"}
    write(first, {**common, "config/settings.py": "DEBUG = True\n"})
    write(first, {"lesson-files.txt": LESSON_HEADER + "chat/models.py\nconfig/settings.py\n"})
    write(
        second,
        {
            **common,
            "pytest.ini": "[pytest]\ntestpaths = tests\n",
            "config/settings.py": "DEBUG = True\nASGI_APPLICATION = 'config.asgi.application'\n",
            "chat/consumers.py": "class RoomConsumer:\n    pass\n",
            "chat/outage.py": "WAIT = 1\n",
            "tests/test_consumers.py": "def test_it():\n    assert True\n",
            # In reading order: the consumer before the settings.
            "lesson-files.txt": LESSON_HEADER + "chat/consumers.py\nconfig/settings.py\n",
        },
    )
    write(tmp_path, {"README.md": ROOT_README})
    return [first, second], tmp_path / "README.md"


def generate(workshop, check=False):
    steps, root_readme = workshop
    return diffs.main(check=check, steps=steps, root_readme=root_readme)


def section(readme: Path) -> str:
    text = readme.read_text(encoding="utf-8")
    return text[text.index(diffs.START_MARKER) : text.index(diffs.END_MARKER)]


def test_lesson_files_come_first_in_the_order_of_their_list(workshop):
    assert generate(workshop) == 0
    text = section(workshop[0][1] / "README.md")
    lesson, rest = text.split("### The rest")
    assert lesson.index("`chat/consumers.py`") < lesson.index("`config/settings.py`")
    assert "`chat/outage.py`" not in lesson and "`tests/test_consumers.py`" not in lesson
    assert "| [`chat/consumers.py`](chat/consumers.py) | added | 2 | 0 |" in lesson


def test_lesson_diff_is_inline_in_a_diff_block(workshop):
    generate(workshop)
    lesson = section(workshop[0][1] / "README.md").split("### The rest")[0]
    assert "```diff\ndiff --git a/chat/consumers.py b/chat/consumers.py\n" in lesson
    assert "+ASGI_APPLICATION = 'config.asgi.application'\n" in lesson


def test_the_rest_is_counted_in_two_groups_without_its_diff(workshop):
    generate(workshop)
    rest = section(workshop[0][1] / "README.md").split("### The rest")[1]
    support, tests = rest.split("Tests (`tests/`):")
    assert "| [`chat/outage.py`](chat/outage.py) | added | 1 | 0 |" in support
    assert "| [`pytest.ini`](pytest.ini) | changed | 1 | 0 |" in support
    assert "| [`tests/test_consumers.py`](tests/test_consumers.py) | added | 2 | 0 |" in tests
    assert "```" not in rest and "+WAIT = 1" not in rest
    assert "[`CHANGES.diff`](CHANGES.diff)" in rest


def test_changes_diff_holds_the_lesson_then_support_code_then_tests(workshop):
    generate(workshop)
    text = (workshop[0][1] / diffs.DIFF_NAME).read_text(encoding="utf-8")
    files = [line.split(" b/")[1] for line in text.splitlines() if line.startswith("diff --git")]
    expected = ["chat/consumers.py", "config/settings.py", "chat/outage.py", "pytest.ini"]
    assert files == [*expected, "tests/test_consumers.py"]


def test_lesson_list_is_not_part_of_the_diff(workshop):
    steps, _ = workshop
    (steps[1] / diffs.LESSON_LIST).write_text("chat/consumers.py\n", encoding="utf-8")
    generate(workshop)
    assert diffs.LESSON_LIST not in (steps[1] / diffs.DIFF_NAME).read_text(encoding="utf-8")
    assert diffs.LESSON_LIST not in section(steps[1] / "README.md").split("### The lesson")[1]


def test_first_step_lists_the_lesson_then_the_rest_without_diffs(workshop):
    generate(workshop)
    text = section(workshop[0][0] / "README.md")
    lesson, rest = text.split("### The rest")
    assert "- [`chat/models.py`](chat/models.py)" in lesson
    assert "- [`pytest.ini`](pytest.ini)" in rest
    assert "```" not in text


def test_root_readme_gets_the_figures_of_each_later_step(workshop):
    generate(workshop)
    text = workshop[1].read_text(encoding="utf-8")
    # lesson: the consumer (2) and the settings (1); support: outage.py (1) and pytest.ini (1)
    assert "| [step02_next](step02_next/README.md#the-lesson) | 3 | 2 | 2 |" in text
    assert "step01_start" not in text
    assert text.endswith(f"{diffs.FIGURES_END}\n\nEnd.\n")


def test_a_listed_path_that_is_not_in_the_step_is_a_problem(workshop, capsys):
    steps, _ = workshop
    listing = LESSON_HEADER + "chat/consumers.py\nchat/gone.py\n"
    (steps[1] / diffs.LESSON_LIST).write_text(listing, encoding="utf-8")
    assert generate(workshop) == 1
    assert "lesson-files.txt, line 4: chat/gone.py is not a file of step02_next" in (
        capsys.readouterr().out
    )


def test_a_glob_that_matches_no_file_is_a_problem(workshop, capsys):
    steps, _ = workshop
    (steps[1] / diffs.LESSON_LIST).write_text("collector/*.py\n", encoding="utf-8")
    assert generate(workshop) == 1
    assert "collector/*.py is not a file of step02_next" in capsys.readouterr().out


def test_a_glob_names_every_file_it_matches(workshop):
    steps, _ = workshop
    (steps[1] / diffs.LESSON_LIST).write_text("chat/*.py\n", encoding="utf-8")
    assert diffs.lesson_files(steps[1]) == (
        ["chat/consumers.py", "chat/models.py", "chat/outage.py"],
        [],
    )


def test_a_missing_lesson_list_is_a_problem(workshop, capsys):
    steps, _ = workshop
    (steps[1] / diffs.LESSON_LIST).unlink()
    assert generate(workshop) == 1
    assert "lesson-files.txt is missing" in capsys.readouterr().out


def test_check_fails_on_drift_and_passes_once_generated(workshop, capsys):
    assert generate(workshop, check=True) == 1
    assert "is not what `make diffs` generates" in capsys.readouterr().out
    assert generate(workshop) == 0
    assert generate(workshop, check=True) == 0
    write(workshop[0][1], {"chat/consumers.py": "class RoomConsumer:\n    pass  # edited\n"})
    assert generate(workshop, check=True) == 1


def test_check_fails_when_the_root_readme_lacks_its_markers(workshop, capsys):
    workshop[1].write_text("# Workshop\n", encoding="utf-8")
    assert generate(workshop, check=True) == 1
    assert diffs.FIGURES_START in capsys.readouterr().out


def test_a_fence_outlasts_the_backticks_in_the_diff():
    text = "+```python\n+x = 1\n+```\n"
    block = diffs.fenced(text, "diff")
    assert block.startswith("````diff\n") and block.endswith("\n````")
