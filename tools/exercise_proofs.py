"""`make test`'s proof that the exercises cannot rot (tools/exercises.py; its own job, not part
of `pytest tools`): on temporary copies of the steps, never in the working tree.

For every exercise, its check fails on the shipped step and passes with its solution applied;
with all of a step's solutions applied together, their checks pass and so do the step's own
tests that their exercise.toml files name (without those that start servers, on the in-memory
channel layer: exercises.SUITE_OPTIONS). Run: `python -m pytest tools/exercise_proofs.py`.
"""

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import exercises

# `make test STEP=N` proves step N's exercises only.
ONLY_STEP = os.environ.get("WORKSHOP_EXERCISES_STEP")
ALL = [e for e in exercises.find_exercises() if ONLY_STEP in (None, str(e.step))]
STEPS = sorted({exercise.step_name for exercise in ALL})
# The proofs' pytest runs at once: they mostly wait (on sockets, timers, fake news sources).
JOBS = int(os.environ.get("WORKSHOP_EXERCISE_PROOF_JOBS", "4"))
PYTHON = Path(sys.executable)


def of_step(step_name):
    return [exercise for exercise in ALL if exercise.step_name == step_name]


@pytest.fixture(scope="session")
def proofs():
    """Every proof's problems, the runs made side by side, JOBS at a time."""
    steps = {name: exercises.step_folder_of(of_step(name)[0]) for name in STEPS}
    # The longest runs first: each step's own tests with all its solutions, then the checks.
    tasks = {
        ("together", name): (exercises.prove_solutions_together, step, of_step(name))
        for name, step in steps.items()
    }
    for exercise in ALL:
        step = steps[exercise.step_name]
        tasks[("solved", exercise)] = (exercises.prove_solution_passes, step, exercise)
    for name, step in steps.items():
        tasks[("shipped", name)] = (exercises.prove_fails_when_shipped, step, of_step(name))
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        running = {key: pool.submit(prove, PYTHON, *args) for key, (prove, *args) in tasks.items()}
        return {key: future.result() for key, future in running.items()}


def ids(exercise):
    return f"step{exercise.step:02d}-ex{exercise.number}"


@pytest.mark.parametrize("exercise", ALL, ids=ids)
def test_the_check_fails_on_the_shipped_step(proofs, exercise):
    problems = proofs[("shipped", exercise.step_name)][exercise]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("exercise", ALL, ids=ids)
def test_the_check_passes_with_its_solution_applied(proofs, exercise):
    problems = proofs[("solved", exercise)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("step_name", STEPS)
def test_the_step_passes_with_all_its_solutions_applied(proofs, step_name):
    problems = proofs[("together", step_name)]
    assert not problems, "\n".join(problems)
