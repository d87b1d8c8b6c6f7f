"""`make test`: each step's pytest suite in its own process, the notebooks, then the checks;
ends with one line `N passed, N failed` (root tooling).
"""

from __future__ import annotations

import subprocess
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import diffs
from workshop import ROOT, lint, notebooks, relative

NOTEBOOK_RUNNER = Path(__file__).with_name("execute_notebook.py")
BENCH_COLLECTOR = Path(__file__).with_name("bench_collector.py")


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.passed + other.passed, self.failed + other.failed, self.skipped + other.skipped
        )

    def summary(self) -> str:
        line = f"{self.passed} passed, {self.failed} failed"
        return line + (f", {self.skipped} skipped" if self.skipped else "")


@dataclass(frozen=True)
class Run:
    """What a stage needs: the venv's python, the step folders, the step chosen (or None)."""

    python: Path
    steps: list[Path]
    step: int | None


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Run], Tally]
    counts_as_tests: bool = True  # a run with no test at all fails; checks do not count


def pytest_stage(run: Run) -> Tally:
    return sum((run_pytest(run.python, step) for step in run.steps), Tally())


def run_pytest(python: Path, step: Path) -> Tally:
    """`pytest <step>` from the root in its own process, output streamed; counted from junit."""
    print(f"\n==> pytest {step.name}", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        junit = Path(folder) / "junit.xml"
        command = [str(python), "-m", "pytest", step.name, "-p", "no:cacheprovider"]
        command.append(f"--junitxml={junit}")
        code = subprocess.run(command, cwd=ROOT, check=False).returncode
        tally = junit_tally(junit) if junit.exists() else None
    if tally is None:
        print(f"==> pytest {step.name} crashed (exit {code}, no report): counted as 1 failed")
        return Tally(failed=1)
    # Exit 5 is "no tests collected"; any other error that the report shows no failure for
    # (an internal error, a usage error) still fails the run.
    if code not in (0, 5) and tally.failed == 0:
        print(f"==> pytest {step.name} exited with {code}: counted as 1 failed")
        tally.failed = 1
    return tally


def junit_tally(path: Path) -> Tally | None:
    """One count per <testcase>: failure or error = failed, skipped = skipped, else passed."""
    try:
        cases = ElementTree.parse(path).getroot().iter("testcase")
    except ElementTree.ParseError:
        return None
    tally = Tally()
    for case in cases:
        outcomes = {child.tag for child in case}
        if outcomes & {"failure", "error"}:
            tally.failed += 1
        elif "skipped" in outcomes:
            tally.skipped += 1
        else:
            tally.passed += 1
    return tally


def notebook_stage(run: Run) -> Tally:
    tally = Tally()
    for notebook in notebooks(run.step):
        print(f"\n==> notebook {relative(notebook)}", flush=True)
        command = [str(run.python), str(NOTEBOOK_RUNNER), str(notebook)]
        ok = subprocess.run(command, cwd=notebook.parent, check=False).returncode == 0
        tally += Tally(passed=1) if ok else Tally(failed=1)
    return tally


def bench_collector(python: Path, quick: bool = False) -> int:
    """`make bench-collector`: step05's collectors measured (the venv's python runs it)."""
    command = [str(python), str(BENCH_COLLECTOR), *(["--quick"] if quick else [])]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


# Checks of the repository itself, one count each. Add `(name, function of the run returning
# an exit code)` pairs here.
CHECKS = [
    ("diffs --check", lambda run: diffs.main(check=True)),
    ("ruff (make lint)", lambda run: lint(run.python)),
    # A smoke test: the benchmark runs end to end at a small size and prints its figures.
    ("bench-collector --quick", lambda run: bench_collector(run.python, quick=True)),
]


def check_stage(run: Run) -> Tally:
    tally = Tally()
    for name, check in CHECKS:
        print(f"\n==> check: {name}", flush=True)
        tally += Tally(passed=1) if check(run) == 0 else Tally(failed=1)
    return tally


def slides_stage(run: Run) -> Tally:
    """slides/'s own pytest suite: the deck built from a clean copy, checked offline and in
    Chromium, printed to PDF. It runs with any STEP: the deck shows code of several steps."""
    return run_pytest(run.python, ROOT / "slides")


# The stages of `make test`, in order. Browser tests need no stage: they live in each step's
# pytest suite (and in slides/tests).
STAGES = [
    Stage("steps", pytest_stage),
    Stage("notebooks", notebook_stage),
    Stage("slides", slides_stage),
    Stage("checks", check_stage, counts_as_tests=False),
]


def main(python: Path, steps: list[Path], step: int | None) -> int:
    run = Run(python, steps, step)
    total, tests = Tally(), Tally()
    for stage in STAGES:
        tally = stage.run(run)
        total += tally
        if stage.counts_as_tests:
            tests += tally
    print()
    if tests.passed + tests.failed + tests.skipped == 0:
        # Counted as a failure so that the last line agrees with the exit code.
        print("no test ran at all (no step folder, no notebook?): counted as 1 failed")
        total.failed += 1
    print(total.summary())
    return 1 if total.failed else 0
