"""`make test`: each step's pytest suite in its own process, the slides' and the tools' suites,
the exercises' proofs, the notebooks and the checks, several at once; ends with the failures
named, then one line `N passed, N failed` (root tooling).
`make test-start-methods`: the tests that start servers, again under spawn and forkserver.

Most of a suite's time is spent waiting (on sockets, servers, timers, a browser), so the jobs
run side by side (JOBS at a time, the longest first) and each step's suite spreads its tests
over pytest-xdist workers. Each job's output is printed whole when it ends, with its time.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import diffs
from workshop import ROOT, lint, notebooks, relative, step_number

NOTEBOOK_RUNNER = Path(__file__).with_name("execute_notebook.py")
BENCH_COLLECTOR = Path(__file__).with_name("bench_collector.py")
BENCH_BROADCAST = ROOT / "benchmarks" / "broadcast.py"
EXERCISE_PROOFS = Path(__file__).with_name("exercise_proofs.py")
# Jobs at once, and pytest-xdist workers in each step's suite. Measured on a 2-core machine:
# the whole `make test` takes about a third of its time one job after the other. Three jobs
# keep both cores busy (96 %), so a third worker per suite only adds its own start-up (Django,
# a test database, a Chromium): under spawn, 2 workers made the run 356 s, 3 made it 380 s.
JOBS = int(os.environ.get("WORKSHOP_TEST_JOBS", "3"))
WORKERS = int(os.environ.get("WORKSHOP_TEST_WORKERS", "2"))
# step01's suite, the smallest, in one process: its workers' start-up cost more CPU than they
# spared (32 CPU-s with two, 20 with none; 4 s longer alone, hidden among the other jobs).
ONE_PROCESS_STEPS = {1}
JOB_TIMEOUT = 20 * 60  # seconds: a job that hangs fails instead of stopping `make test`
# How the steps' tests start a live server's process (read by each step's tests/live_server.py):
# macOS and Windows `spawn`, Python 3.14 on Linux `forkserver`, older Pythons on Linux `fork`.
START_METHOD_VARIABLE = "WORKSHOP_START_METHOD"
START_METHODS = ("spawn", "forkserver")


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)  # what failed, named for the last lines

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.passed + other.passed,
            self.failed + other.failed,
            self.skipped + other.skipped,
            self.failures + other.failures,
        )

    def summary(self) -> str:
        line = f"{self.passed} passed, {self.failed} failed"
        return line + (f", {self.skipped} skipped" if self.skipped else "")


@dataclass
class Job:
    """One command of `make test`: counted from its junit report, or pass/fail by exit code."""

    name: str
    command: list[str]
    cwd: Path = ROOT
    junit: Path | None = None
    counts_as_tests: bool = True  # a run with no test at all fails; checks do not count
    order: int = 0  # lower starts earlier: the longest jobs first
    env: dict[str, str] = field(default_factory=dict)  # added to this process's environment
    output: str = field(default="", repr=False)
    seconds: float = 0.0

    def run(self) -> Tally:
        started = time.monotonic()
        try:
            done = subprocess.run(
                self.command,
                cwd=self.cwd,
                env={**os.environ, **self.env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                timeout=JOB_TIMEOUT,
                check=False,
            )
            self.output, code = done.stdout, done.returncode
        except subprocess.TimeoutExpired as expired:
            output = expired.stdout or ""
            self.output = output if isinstance(output, str) else output.decode(errors="replace")
            self.output += f"\n{self.name} did not end within {JOB_TIMEOUT} s: stopped\n"
            code = -1
        self.seconds = time.monotonic() - started
        return self.tally(code)

    def tally(self, code: int) -> Tally:
        if self.junit is None:
            return Tally(passed=1) if code == 0 else Tally(failed=1, failures=[self.name])
        tally = junit_tally(self.junit) if self.junit.exists() else None
        if tally is None:
            self.output += f"\n{self.name} crashed (exit {code}, no report): counted as 1 failed\n"
            return Tally(failed=1, failures=[f"{self.name} (crashed)"])
        # Exit 5 is "no tests collected"; any other error that the report shows no failure
        # for (an internal error, a usage error) still fails the run.
        if code not in (0, 5) and tally.failed == 0:
            self.output += f"\n{self.name} exited with {code}: counted as 1 failed\n"
            tally.failed = 1
            tally.failures.append(f"exited with {code}")
        tally.failures = [f"{self.name}: {name}" for name in tally.failures]
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
            tally.failures.append(f"{case.get('classname', '')}::{case.get('name', '')}")
        elif "skipped" in outcomes:
            tally.skipped += 1
        else:
            tally.passed += 1
    return tally


def pytest_job(
    python: Path,
    folder: Path,
    reports: Path,
    order: int,
    workers: int,
    start_method: str | None = None,
    marker: str | None = None,
) -> Job:
    """`pytest <folder>` from the root, its tests spread over `workers` xdist processes (0:
    none, the tests run in the pytest process itself); with `start_method`, its live servers
    start that way; with `marker`, only the tests so marked run."""
    label = ", ".join(filter(None, [start_method, marker and f"-m {marker}"]))
    junit = reports / f"{folder.name}{'-' + start_method if start_method else ''}.xml"
    command = [str(python), "-m", "pytest", relative(folder), "-p", "no:cacheprovider"]
    # loadgroup: tests marked with one xdist_group (a suite's browser tests) share a worker.
    command += [f"--junitxml={junit}", "-n", str(workers), "--dist", "loadgroup"]
    command += ["-m", marker] if marker else []
    return Job(
        f"pytest {relative(folder)}" + (f" [{label}]" if label else ""),
        command,
        junit=junit,
        order=order,
        env={START_METHOD_VARIABLE: start_method} if start_method else {},
    )


def notebook_job(python: Path, notebook: Path) -> Job:
    command = [str(python), str(NOTEBOOK_RUNNER), str(notebook)]
    return Job(f"notebook {relative(notebook)}", command, cwd=notebook.parent, order=50)


def bench_collector(python: Path, quick: bool = False) -> int:
    """`make bench-collector`: step05's collectors measured (the venv's python runs it)."""
    command = [str(python), str(BENCH_COLLECTOR), *(["--quick"] if quick else [])]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def bench_broadcast(python: Path, quick: bool = False) -> int:
    """`make bench-broadcast`: benchmarks/broadcast.py (the venv's python runs it)."""
    command = [str(python), str(BENCH_BROADCAST), *(["--quick"] if quick else [])]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def exercise_proofs_job(python: Path, step: int | None, reports: Path) -> Job:
    """The proof that the exercises cannot rot (tools/exercise_proofs.py: about a minute, 20
    pytest runs on copies of the steps, 4 at a time); with `step`, that step's exercises."""
    junit = reports / "exercise-proofs.xml"
    command = [str(python), "-m", "pytest", relative(EXERCISE_PROOFS), "-p", "no:cacheprovider"]
    command.append(f"--junitxml={junit}")
    env = {"WORKSHOP_EXERCISES_STEP": str(step)} if step is not None else {}
    return Job("pytest tools/exercise_proofs.py", command, junit=junit, order=20, env=env)


def workers_of(folder: Path) -> int:
    """How many xdist workers a step's suite gets in `make test`."""
    return 0 if step_number(folder) in ONE_PROCESS_STEPS else WORKERS


def jobs_of(python: Path, steps: list[Path], step: int | None, reports: Path) -> list[Job]:
    """Every job of a run: the steps' suites (newest, longest, first), the slides' suite
    (with any STEP: the deck shows code of several steps), the notebooks, the tests of the
    tools themselves (tools/tests, seconds: one starts Jupyter), the exercises' proofs, the
    benchmarks' smoke tests (figures printed, nothing asserted about them)."""
    jobs = [
        pytest_job(python, folder, reports, order=-step_number(folder), workers=workers_of(folder))
        for folder in steps
    ]
    jobs.append(pytest_job(python, ROOT / "slides", reports, order=10, workers=0))
    jobs.append(pytest_job(python, ROOT / "tools", reports, order=55, workers=0))
    jobs.append(exercise_proofs_job(python, step, reports))
    jobs += [notebook_job(python, notebook) for notebook in notebooks(step)]
    bench = [str(python), str(BENCH_COLLECTOR), "--quick"]
    jobs.append(Job("check: bench-collector --quick", bench, counts_as_tests=False, order=60))
    broadcast = [str(python), str(BENCH_BROADCAST), "--quick"]
    jobs.append(Job("check: bench-broadcast --quick", broadcast, counts_as_tests=False, order=60))
    return sorted(jobs, key=lambda job: job.order)


# Checks of the repository itself, one count each, run after the jobs (they take seconds).
CHECKS = [
    ("diffs --check", lambda python: diffs.main(check=True)),
    ("ruff (make lint)", lambda python: lint(python)),
]


def run_jobs(jobs: list[Job], title: str) -> tuple[Tally, Tally]:
    """The jobs, JOBS at a time; each one's output printed whole as it ends. Returns the
    tally of every job and that of the jobs that count as tests."""
    total, tests = Tally(), Tally()
    print(f"{title}: {len(jobs)} jobs, {JOBS} at a time: " + ", ".join(j.name for j in jobs))
    with ThreadPoolExecutor(max_workers=JOBS) as pool:
        running = {pool.submit(job.run): job for job in jobs}
        for future in as_completed(running):
            job, tally = running[future], future.result()
            print(f"\n==> {job.name}: {tally.summary()} ({job.seconds:.0f} s)", flush=True)
            print(job.output.rstrip(), flush=True)
            total += tally
            if job.counts_as_tests:
                tests += tally
    return total, tests


def end(title: str, started: float, total: Tally, tests: Tally) -> int:
    print(f"\n{title}: {time.monotonic() - started:.0f} s")
    if tests.passed + tests.failed + tests.skipped == 0:
        # Counted as a failure so that the last line agrees with the exit code.
        print("no test ran at all (no step folder, no notebook?): counted as 1 failed")
        total.failed += 1
    for failure in total.failures:  # repeated here: a log's tail names what failed
        print(f"FAILED {failure}")
    print(total.summary())
    return 1 if total.failed else 0


def main(python: Path, steps: list[Path], step: int | None, start_method: str | None = None) -> int:
    """`make test`; with `start_method`, every suite's live servers start that way."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        jobs = jobs_of(python, steps, step, Path(folder))
        for job in jobs:
            job.env.update({START_METHOD_VARIABLE: start_method} if start_method else {})
        total, tests = run_jobs(jobs, "make test")
    for name, check in CHECKS:
        print(f"\n==> check: {name}", flush=True)
        total += Tally(passed=1) if check(python) == 0 else Tally(failed=1, failures=[name])
    return end("make test", started, total, tests)


def start_methods_main(python: Path, steps: list[Path], methods: list[str]) -> int:
    """`make test-start-methods`: each step's tests marked `servers` (a live Daphne, a browser,
    a Redis server of their own) once under each start method, the way a Mac, Windows or
    Python 3.14 starts the servers' processes. Steps without live servers have none to run."""
    started = time.monotonic()
    serving = [folder for folder in steps if (folder / "tests" / "live_server.py").exists()]
    with tempfile.TemporaryDirectory() as folder:
        jobs = [
            pytest_job(
                python,
                step_folder,
                Path(folder),
                order=-step_number(step_folder),
                workers=WORKERS,
                start_method=method,
                marker="servers",
            )
            for method in methods
            for step_folder in serving
        ]
        total, tests = run_jobs(sorted(jobs, key=lambda job: job.order), "make test-start-methods")
    return end("make test-start-methods", started, total, tests)
