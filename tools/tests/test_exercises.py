"""Tests of `make exercises`, `make exercise` and `make solve` (tools/exercises.py): the real
exercises' listing and layout, then checks and solutions on a small step folder built in a
temporary directory (its pytest has no Django: `-p no:django`)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import exercises
from workshop import ROOT

PYTEST_INI = """[pytest]
pythonpath = .
testpaths = tests
addopts = -p no:django
asyncio_default_fixture_loop_scope = function
"""
GREETING = 'def greet(name):\n    """The greeting of the page."""\n    return "hi"\n'
SOLVED_GREETING = (
    'def greet(name):\n    """The greeting of the page."""\n    return f"Hello, {name}!"\n'
)
CHECK = """from greeting import greet


def test_the_greeting_names_the_person(name):
    said = greet(name)
    assert said == "Hello, alice!", f'greet("alice") says "{said}"; it should say "Hello, alice!"'


def test_the_greeting_is_text(name):
    assert isinstance(greet(name), str), "greet() should answer a string"


def test_the_farewell_exists():
    import farewell  # noqa: F401  (the solution adds this module)
"""
ABOUT = 'title = "A friendly greeting"\nsummary = "greet(name) says hello"\nsuite = []\n'


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@pytest.fixture
def workshop(tmp_path):
    """A step folder (its fixture `name` in tests/conftest.py) and one exercise of it, whose
    solution.patch is made from a solved copy, as a maintainer makes one."""
    step = tmp_path / "step01_start"
    files = {"pytest.ini": PYTEST_INI, "greeting.py": GREETING, "tests/__init__.py": ""}
    files["tests/conftest.py"] = (
        "import pytest\n\n\n@pytest.fixture\ndef name():\n    return 'alice'\n"
    )
    write(step, files)
    solved = tmp_path / "solved"
    write(solved, {**files, "greeting.py": SOLVED_GREETING, "farewell.py": "BYE = 'bye'\n"})
    folder = tmp_path / "exercises" / "step01_start" / "1-a-friendly-greeting"
    write(folder, {"exercise.toml": ABOUT, "README.md": "# A friendly greeting\n"})
    write(folder, {"test_exercise.py": CHECK})
    exercise = exercises.find_exercise(1, 1, tmp_path / "exercises")
    exercises.write_patch(exercise, step, solved)
    return step, exercise


def check(workshop, capsys):
    step, exercise = workshop
    code = exercises.check(Path(sys.executable), exercise, step)
    return code, capsys.readouterr().out


def test_the_listing_as_json_gives_step_number_and_title_of_every_exercise():
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "run.py"), "exercises", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )

    listed = json.loads(done.stdout)
    assert all(set(row) == {"step", "ex", "title"} for row in listed)
    found = exercises.find_exercises()
    assert [(row["step"], row["ex"], row["title"]) for row in listed] == [
        (exercise.step, exercise.number, exercise.title) for exercise in found
    ]


def test_the_listing_for_people_gives_the_command_that_checks_each():
    found = exercises.find_exercises()

    text = exercises.listing(found)

    assert all(f"make exercise STEP={e.step} EX={e.number}" in text for e in found)


def test_every_step_has_two_or_three_exercises_numbered_from_1():
    found = exercises.find_exercises()

    for step in {exercise.step_name for exercise in found}:
        numbers = [exercise.number for exercise in found if exercise.step_name == step]
        assert numbers in ([1, 2], [1, 2, 3]), f"{step}: {numbers}"


@pytest.mark.parametrize("exercise", exercises.find_exercises(), ids=lambda e: e.folder.name)
def test_every_exercise_has_its_statement_check_and_solution(exercise):
    readme = (exercise.folder / exercises.README).read_text(encoding="utf-8")

    assert readme.startswith(f"# {exercise.title}\n")
    assert exercise.command in readme and f"make solve STEP={exercise.step}" in readme
    assert (exercise.folder / exercises.TEST).is_file()
    assert exercises.solution_of(exercise), "solution.patch changes no file"
    step = exercises.step_folder_of(exercise)
    assert all((step / path).is_file() for path in exercise.suite), exercise.suite


@pytest.mark.parametrize("exercise", exercises.find_exercises(), ids=lambda e: e.folder.name)
def test_the_exercises_readme_and_the_steps_try_this_list_every_exercise(exercise):
    index = (exercises.EXERCISES / "README.md").read_text(encoding="utf-8")
    folder = exercise.folder.relative_to(exercises.EXERCISES).as_posix()
    step = exercises.step_folder_of(exercise)
    readme = (step / "README.md").read_text(encoding="utf-8")
    try_this = readme[readme.index("## Try this") : readme.index("## Where it goes next")]

    assert f"[{exercise.label.split()[1]} {exercise.title}]({folder}/README.md)" in index
    assert f"[{exercise.title}](../exercises/{folder}/README.md)" in try_this
    assert exercise.command in try_this


def test_a_check_says_in_words_what_is_missing_and_exits_1(workshop, capsys):
    code, out = check(workshop, capsys)

    assert code == 1
    assert "not yet  the greeting names the person" in out
    assert 'greet("alice") says "hi"; it should say "Hello, alice!"' in out
    assert "done     the greeting is text" in out
    assert "No module named 'farewell'" in out
    assert "Traceback" not in out and "def test" not in out and "assert " not in out


def test_a_check_exits_0_once_the_exercise_is_solved(workshop, capsys):
    step, exercise = workshop
    assert exercises.solve(exercise, step) == 0

    code, out = check(workshop, capsys)

    assert code == 0
    assert "All 3 checks pass: solved." in out


def test_a_check_leaves_the_steps_tests_folder_as_it_was(workshop, capsys):
    step, _ = workshop
    before = sorted(path.name for path in (step / "tests").iterdir())

    check(workshop, capsys)

    assert sorted(path.name for path in (step / "tests").iterdir()) == before


def test_a_check_that_cannot_import_the_code_says_why_and_where(workshop, capsys):
    step, _ = workshop
    write(step, {"greeting.py": "def greet(name)\n    return 'hi'\n"})

    code, out = check(workshop, capsys)

    assert code == 1
    assert "SyntaxError" in out and "(greeting.py, line 1)" in out
    assert "Traceback" not in out


def test_solve_refuses_when_the_learners_change_is_in_the_way(workshop, capsys):
    step, exercise = workshop
    mine = GREETING.replace('return "hi"', 'return "hey " + name')
    write(step, {"greeting.py": mine})

    code = exercises.solve(exercise, step)

    out = capsys.readouterr().out
    assert code == 1
    assert "does not fit" in out and "greeting.py" in out
    # All or nothing: neither the changed file nor the new one.
    assert (step / "greeting.py").read_text(encoding="utf-8") == mine
    assert not (step / "farewell.py").exists()


def test_solve_applies_below_lines_the_learner_added(workshop):
    step, exercise = workshop
    write(step, {"greeting.py": "# my notes\n\n" + GREETING})

    assert exercises.solve(exercise, step) == 0

    assert (step / "greeting.py").read_text(encoding="utf-8") == "# my notes\n\n" + SOLVED_GREETING


def test_solve_twice_says_the_solution_is_applied_already(workshop, capsys):
    step, exercise = workshop
    exercises.solve(exercise, step)
    capsys.readouterr()

    assert exercises.solve(exercise, step) == 0
    assert "applied already" in capsys.readouterr().out


def test_solve_keeps_the_line_ends_of_a_windows_checkout(workshop):
    step, exercise = workshop
    (step / "greeting.py").write_bytes(GREETING.replace("\n", "\r\n").encode())

    assert exercises.solve(exercise, step) == 0

    assert (step / "greeting.py").read_bytes() == SOLVED_GREETING.replace("\n", "\r\n").encode()
