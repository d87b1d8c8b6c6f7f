"""The layout of the workshop repository (root tooling): its root, step folders and notebooks.

Stdlib only, like everything in tools/ but execute_notebook.py: it runs before the venv exists.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
STEP_NAME = re.compile(r"^step(\d{2})_\w+$")


class UsageError(Exception):
    """A mistake in how the tools were called (unknown step, missing interpreter): exit 2."""


def step_number(folder: Path) -> int:
    return int(STEP_NAME.match(folder.name).group(1))


def step_dirs() -> list[Path]:
    """Every step folder (stepNN_slug), oldest first."""
    found = [path for path in ROOT.iterdir() if path.is_dir() and STEP_NAME.match(path.name)]
    return sorted(found, key=step_number)


def find_step(number: int | None) -> Path:
    """Step `number`, or the newest step when it is None."""
    steps = step_dirs()
    if not steps:
        raise UsageError(f"no step folder (stepNN_slug) in {ROOT}")
    if number is None:
        return steps[-1]
    for step in steps:
        if step_number(step) == number:
            return step
    names = ", ".join(step.name for step in steps)
    raise UsageError(f"no step {number:02d}; the steps are: {names}")


def notebooks(step: int | None = None) -> list[Path]:
    """notebooks/NN_slug.ipynb, all of them or only step `step`'s."""
    prefix = "" if step is None else f"{step:02d}_"
    return sorted(NOTEBOOKS.glob(f"{prefix}*.ipynb")) if NOTEBOOKS.is_dir() else []


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True when a server could listen on host:port right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if os.name != "nt":
            # The servers set SO_REUSEADDR too, so a closed connection still in TIME_WAIT
            # does not count as busy. (On Windows the option would let us steal a live port.)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def relative(path: Path) -> str:
    """`path` as shown to the user: relative to the repository root when it is inside it."""
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def ruff(python: Path, *arguments: str) -> int:
    """Run the venv's ruff on the repository; its exit code."""
    return subprocess.run([str(python), "-m", "ruff", *arguments], cwd=ROOT, check=False).returncode


def lint(python: Path) -> int:
    """`make lint`, also a check of `make test`: ruff check, then ruff format --check."""
    return max(ruff(python, "check", "."), ruff(python, "format", "--check", "."))
