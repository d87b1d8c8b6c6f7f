"""Finds the Python to use and keeps its virtual environment in step with requirements.txt.

`.venv` belongs to the interpreter running tools/run.py; another Python version gets its own
`.venv-X.Y`, so that `make test PYTHON=python3.13` never rebuilds the default one.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from workshop import ROOT, UsageError, relative

REQUIREMENTS = ROOT / "requirements.txt"
STAMP_NAME = "workshop-stamp.txt"
MINIMUM_PYTHON = (3, 11)
PROBE = "import platform, sys; print(sys.executable); print(platform.python_version())"


class BootstrapError(Exception):
    """The venv could not be built (no ensurepip, pip failed, ...)."""


@dataclass(frozen=True)
class Interpreter:
    executable: str
    version: str  # "3.13.0"

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def version_info(self) -> tuple[int, ...]:
        return tuple(int(part) for part in re.findall(r"\d+", self.version)[:3])


def running_interpreter() -> Interpreter:
    return Interpreter(sys.executable, platform.python_version())


def probe(command: str) -> Interpreter | None:
    """The interpreter that `command` starts, or None when it does not run."""
    try:
        done = subprocess.run(
            [command, "-c", PROBE], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.splitlines()
    if done.returncode != 0 or len(lines) < 2:
        return None
    return Interpreter(lines[0], lines[1])


def pyenv_candidates(name: str) -> list[str]:
    """`name` in every pyenv version, newest first.

    A pyenv shim refuses a version that is installed but not selected ("python3.13: command
    not found"), so such an interpreter is taken from pyenv's versions folder directly.
    """
    if "/" in name or "\\" in name:
        return []
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = pyenv_root.glob(f"versions/*/bin/{name}")

    def version_key(path: Path) -> tuple[int, ...]:
        return tuple(int(number) for number in re.findall(r"\d+", path.parent.parent.name))

    return [str(path) for path in sorted(found, key=version_key, reverse=True)]


def resolve_python(name: str | None) -> Interpreter:
    """The interpreter called `name` (python3.13, a path), or the one running this script."""
    if not name:
        found = running_interpreter()
    else:
        found = next(filter(None, map(probe, [name, *pyenv_candidates(name)])), None)
        if found is None:
            raise UsageError(f"no working Python called {name!r} (PATH and pyenv versions)")
    if found.version_info < MINIMUM_PYTHON:
        raise UsageError(
            f"Python {found.version} at {found.executable} is too old: the workshop needs 3.11+; "
            "choose another with PYTHON=... (make) or --python"
        )
    return found


def venv_dir(python: Interpreter, chosen: str | None = None) -> Path:
    """The venv to use: `chosen` (--venv, VENV) or `.venv` / `.venv-X.Y` by Python version."""
    if chosen:
        return Path(chosen).resolve()
    if python.minor == running_interpreter().minor:
        return ROOT / ".venv"
    return ROOT / f".venv-{python.minor}"


def venv_python(venv: Path) -> Path:
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def stamp_text(python: Interpreter) -> str:
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    return f"requirements.txt sha256 {digest}\npython {python.version}\n"


def read_stamp(venv: Path) -> str | None:
    try:
        return (venv / STAMP_NAME).read_text(encoding="utf-8")
    except OSError:
        return None


def ensure_venv(python: Interpreter, venv: Path, verbose: bool = False) -> Path:
    """Build or refresh `venv` for `python` when needed; return the venv's python."""
    wanted = stamp_text(python)
    current = probe(str(venv_python(venv))) if venv_python(venv).exists() else None
    if current is None or current.version != python.version:
        create_venv(python, venv)
    elif read_stamp(venv) == wanted:
        if verbose:
            print(f"bootstrap: {relative(venv)} is up to date (Python {python.version})")
        return venv_python(venv)
    install_requirements(venv)
    # Written last: an interrupted install leaves no stamp, so the next run tries again.
    (venv / STAMP_NAME).write_text(wanted, encoding="utf-8")
    print(f"bootstrap: {relative(venv)} is ready (Python {python.version})", flush=True)
    return venv_python(venv)


def create_venv(python: Interpreter, venv: Path) -> None:
    print(f"bootstrap: creating {relative(venv)} with Python {python.version}", flush=True)
    command = [python.executable, "-m", "venv", "--clear", str(venv)]
    if subprocess.run(command, check=False).returncode != 0:
        raise BootstrapError(
            f"`{' '.join(command)}` failed (on Debian/Ubuntu: apt-get install python3-venv)"
        )


def install_requirements(venv: Path) -> None:
    print(
        f"bootstrap: installing requirements.txt into {relative(venv)} (minutes, the first time)",
        flush=True,
    )
    uv = shutil.which("uv")
    if uv is not None:
        # The same packages, installed several times faster (https://docs.astral.sh/uv/).
        command = [uv, "pip", "install", "--quiet", "--python", str(venv_python(venv))]
    else:
        command = [
            str(venv_python(venv)),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            # pip compiles every file to .pyc one after the other (a third of the install's
            # time); compileall below does the same on every core.
            "--no-compile",
        ]
    command += ["-r", str(REQUIREMENTS)]
    if subprocess.run(command, check=False).returncode != 0:
        raise BootstrapError("pip could not install requirements.txt (see the output above)")
    # Compiled now, once, rather than by each of the many processes `make test` starts at once.
    compile_all = [str(venv_python(venv)), "-m", "compileall", "-q", "-j", "0", str(venv)]
    subprocess.run(compile_all, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
