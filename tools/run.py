"""The workshop's root tooling: bootstrap, check, demo, reset, test, exercises, notebook,
wheelhouse, diffs, lint, format (INTERFACES.md, "Commands (run from the repository root)").

`make <target>` wraps it; without make: `python tools/run.py <command>` (Windows: `py tools\\run.py
<command>`). Stdlib only: it builds the venv, then runs everything else with the venv's python.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
from pathlib import Path

import check_env
import demo
import diffs
import exercises
import notebook_links
import notebook_server
import slides
import testing
import wheelhouse
from bootstrap import BootstrapError, ensure_venv, resolve_python, venv_dir, venv_python
from workshop import UsageError, find_step, lint, ruff, step_dirs


def parser() -> argparse.ArgumentParser:
    summary = " ".join(__doc__.split("\n\n")[0].split())  # the docstring's first paragraph
    main = argparse.ArgumentParser(prog="tools/run.py", description=summary)
    main.add_argument(
        "--python",
        help="interpreter for the venv (a name like python3.13 or a path; pyenv versions too); "
        "default: the one running this script",
    )
    main.add_argument(
        "--venv",
        default=os.environ.get("VENV"),
        help="venv folder (env VENV); default .venv, or .venv-X.Y for another Python version",
    )
    commands = main.add_subparsers(dest="command", required=True, metavar="command")
    commands.add_parser("bootstrap", help="create or refresh the venv from requirements.txt")
    commands.add_parser("check", help="is this machine ready for the workshop?")
    commands.add_parser("lint", help="ruff check and ruff format --check")
    commands.add_parser("format", help="ruff check --fix, then ruff format")
    demo_help = "migrate, seed and serve a step on :8000 (default: the newest step)"
    test_help = "every step's tests (or one step's), the notebooks, the checks"
    for name, text in [("demo", demo_help), ("test", test_help)]:
        command = commands.add_parser(name, help=text)
        command.add_argument("--step", type=int, help="step number, e.g. 1 for step01_...")
        if name == "test":
            command.add_argument(
                "--start-method",
                choices=testing.START_METHODS,
                help="start the tests' live servers as macOS and Windows (spawn) or Python 3.14 "
                "on Linux (forkserver) do; default: this system's way",
            )
        if name == "demo":
            command.add_argument(
                "--servers",
                type=int,
                choices=[1, 2],
                default=1,
                help="2: serve the step twice (:8000 and :8002) sharing Redis",
            )
    commands.add_parser(
        "reset", help="a new database for a step, with the demo data (default: the newest step)"
    ).add_argument("--step", type=int, help="step number, e.g. 4 for step04_...")
    methods = commands.add_parser(
        "test-start-methods",
        help="the tests that start servers, once under each of spawn and forkserver",
    )
    methods.add_argument(
        "--step", type=int, action="append", help="step number (repeatable); default: every step"
    )
    methods.add_argument(
        "--start-method",
        action="append",
        choices=testing.START_METHODS,
        help="only this one (repeatable); default: each one this system has",
    )
    bench = commands.add_parser(
        "bench-collector", help="measure step05's three news collectors side by side"
    )
    bench.add_argument("--quick", action="store_true", help="a small run (make test's smoke test)")
    broadcast = commands.add_parser(
        "bench-broadcast", help="measure a broadcast from a post to K sockets (benchmarks/)"
    )
    broadcast.add_argument("--quick", action="store_true", help="a small run (the smoke test)")
    commands.add_parser(
        "slides", help="build the talk's deck into slides/build/deck/ (presents from disk)"
    ).add_argument("--pdf", action="store_true", help="also print it to PDF with Chromium")
    commands.add_parser("diffs", help="regenerate CHANGES.diff and README sections").add_argument(
        "--check", action="store_true", help="write nothing; fail when a file drifted"
    )
    commands.add_parser(
        "exercises", help="list the exercises (exercises/), each with the command that checks it"
    ).add_argument("--json", action="store_true", help='print [{"step", "ex", "title"}, ...]')
    for name, text in [
        ("exercise", "check your work on an exercise: what is still missing (exit 0: solved)"),
        ("solve", "apply an exercise's worked solution (never over your own changes)"),
    ]:
        command = commands.add_parser(name, help=text)
        command.add_argument("--step", type=int, help="step number, e.g. 2 for step02_...")
        command.add_argument("--ex", type=int, help="the exercise's number in that step")
    notebook = commands.add_parser(
        "notebook", help="a step's notebook in the venv's Jupyter (default: the newest step)"
    )
    notebook.add_argument(
        "--step", type=int, help="step number, e.g. 2 for 02_...ipynb (6: 06_..., past the steps)"
    )
    notebook.add_argument("--port", type=int, help="default: 8888, or the next free port")
    notebook.add_argument("--no-browser", action="store_true", help="only print the URL")
    commands.add_parser(
        "notebook-links", help="write the links at each notebook's top and bottom"
    ).add_argument("--check", action="store_true", help="write nothing; fail when one is wrong")
    wheels = commands.add_parser(
        "wheelhouse",
        help="download every wheel requirements.txt needs, for Linux, macOS and Windows, "
        "Python 3.11-3.14, into one folder (for installing with no network)",
    )
    wheels.add_argument(
        "--dest",
        type=Path,
        default=wheelhouse.WHEELHOUSE_FOLDER,
        help="the folder (default: wheels/ in the repository root, where the bootstrap looks)",
    )
    wheels.add_argument(
        "--system",
        action="append",
        choices=wheelhouse.SYSTEM_NAMES,
        help="only this system (repeatable); default: all of them",
    )
    wheels.add_argument(
        "--python-version",
        action="append",
        choices=wheelhouse.PYTHON_VERSIONS,
        help="only this Python version (repeatable); default: all of them",
    )
    return main


def run_demo(args: argparse.Namespace, python: Path) -> int:
    return demo.main(python, find_step(args.step), args.servers)


def run_reset(args: argparse.Namespace, python: Path) -> int:
    return demo.reset(python, find_step(args.step))


def run_test(args: argparse.Namespace, python: Path) -> int:
    steps = [find_step(args.step)] if args.step is not None else step_dirs()
    return testing.main(python, steps, args.step, args.start_method)


def run_test_start_methods(args: argparse.Namespace, python: Path) -> int:
    steps = [find_step(step) for step in args.step] if args.step else step_dirs()
    # Windows has no forkserver: there, spawn alone.
    here = multiprocessing.get_all_start_methods()
    methods = args.start_method or [m for m in testing.START_METHODS if m in here]
    return testing.start_methods_main(python, steps, methods)


def run_check(args: argparse.Namespace, python: Path) -> int:
    return check_env.report(python.parent.parent)


def run_diffs(args: argparse.Namespace, python: Path) -> int:
    return diffs.main(check=args.check)


def run_bench_collector(args: argparse.Namespace, python: Path) -> int:
    return testing.bench_collector(python, quick=args.quick)


def run_bench_broadcast(args: argparse.Namespace, python: Path) -> int:
    return testing.bench_broadcast(python, quick=args.quick)


def run_slides(args: argparse.Namespace, python: Path) -> int:
    return slides.run_with(python, pdf=args.pdf)


def run_notebook(args: argparse.Namespace, python: Path) -> int:
    notebook = notebook_server.find_notebook(args.step)
    return notebook_server.main(python, notebook, args.port, open_browser=not args.no_browser)


def run_notebook_links(args: argparse.Namespace, python: Path) -> int:
    return notebook_links.run_with(python, check=args.check)


def run_wheelhouse(args: argparse.Namespace, python: Path) -> int:
    return wheelhouse.main(python, args.dest.resolve(), args.system, args.python_version)


def run_exercises(args: argparse.Namespace, python: Path | None) -> int:
    found = exercises.find_exercises()
    print(exercises.as_json(found) if args.json else exercises.listing(found))
    return 0


def run_exercise(args: argparse.Namespace, python: Path) -> int:
    exercise = exercises.find_exercise(args.step, args.ex)
    return exercises.check(python, exercise, exercises.step_folder_of(exercise))


def run_solve(args: argparse.Namespace, python: Path | None) -> int:
    exercise = exercises.find_exercise(args.step, args.ex)
    return exercises.solve(exercise, exercises.step_folder_of(exercise))


def run_lint(args: argparse.Namespace, python: Path) -> int:
    return lint(python)


def run_format(args: argparse.Namespace, python: Path) -> int:
    ruff(python, "check", "--fix", "--exit-zero", ".")
    return ruff(python, "format", ".")


COMMANDS = {
    "bootstrap": lambda args, python: 0,
    "demo": run_demo,
    "reset": run_reset,
    "test": run_test,
    "test-start-methods": run_test_start_methods,
    "check": run_check,
    "diffs": run_diffs,
    "bench-collector": run_bench_collector,
    "bench-broadcast": run_bench_broadcast,
    "slides": run_slides,
    "notebook": run_notebook,
    "notebook-links": run_notebook_links,
    "wheelhouse": run_wheelhouse,
    "exercises": run_exercises,
    "exercise": run_exercise,
    "solve": run_solve,
    "lint": run_lint,
    "format": run_format,
}
# Stdlib only, so no venv first: `exercises --json` prints its JSON alone, `solve` works offline.
WITHOUT_VENV = {"exercises", "solve"}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command in WITHOUT_VENV:
            return COMMANDS[args.command](args, None)
        interpreter = resolve_python(args.python)
        venv = venv_dir(interpreter, args.venv)
        try:
            # `make wheelhouse` refreshes a wheelhouse: its venv comes from the package index.
            python = ensure_venv(
                interpreter,
                venv,
                verbose=args.command == "bootstrap",
                use_wheelhouse=args.command != "wheelhouse",
            )
        except BootstrapError as error:
            print(f"bootstrap: {error}")
            if args.command != "check":
                return 1
            python = venv_python(venv)  # the report says what is missing
        return COMMANDS[args.command](args, python)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
