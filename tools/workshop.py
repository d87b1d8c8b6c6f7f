"""The layout of the workshop repository (root tooling): its root, step folders and notebooks,
and the Chromium that the browser tests, the slides' checks and `make check` use.

Stdlib only, like everything in tools/ but execute_notebook.py: it runs before the venv exists.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
STEP_NAME = re.compile(r"^step(\d{2})_\w+$")
# No sandbox as root; no background calls home on a machine with no internet.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


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


def who_listens_hint(port: int) -> str:
    """The command that shows which program listens on `port`, for this system."""
    if os.name == "nt":
        return f"`netstat -ano | findstr :{port}` shows its PID"
    return f"`lsof -i :{port}` shows it"


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


def system_chromium() -> str | None:
    """Debian's Chromium when it is installed, else None. (Ubuntu's `chromium` is a snap,
    which Playwright cannot drive.)"""
    found = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")
    return None if found is None or found.startswith("/snap/") else found


def chromium_install_hint(python: str | os.PathLike) -> str:
    """The command that gives this system a Chromium for Playwright; `python`: the venv's."""
    try:
        release = platform.freedesktop_os_release()
    except OSError:  # macOS, Windows
        release = {}
    if release.get("ID") == "debian":
        return "sudo apt-get install chromium"
    shown = f'"{python}"' if " " in str(python) else str(python)
    with_deps = " --with-deps" if release.get("ID") == "ubuntu" else ""  # its libraries, by apt
    return f"{shown} -m playwright install{with_deps} chromium"


def chromium_for(playwright) -> str | None:
    """`executable_path` for `playwright.chromium.launch()`: Debian's Chromium, else None for
    Playwright's own browser; LookupError (saying how to get one) when neither is there."""
    found = system_chromium()
    if found is None and not os.path.exists(playwright.chromium.executable_path):
        raise LookupError(f"no Chromium for Playwright: {chromium_install_hint(sys.executable)}")
    return found
