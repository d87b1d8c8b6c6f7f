"""Finds the Python to use and keeps its virtual environment in step with requirements.txt,
installed from a wheelhouse (`make wheelhouse`) with the package index off when there is one.

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
from urllib.parse import urlsplit

from workshop import ROOT, UsageError, relative

REQUIREMENTS = ROOT / "requirements.txt"
STAMP_NAME = "workshop-stamp.txt"
MINIMUM_PYTHON = (3, 11)
PROBE = "import platform, sys; print(sys.executable); print(platform.python_version())"
# A wheelhouse: the folder (or http:// URL) in WORKSHOP_WHEELHOUSE, else the root's wheels/.
WHEELHOUSE_VARIABLE = "WORKSHOP_WHEELHOUSE"
WHEELHOUSE_FOLDER = ROOT / "wheels"


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


def stamp_text(python: Interpreter, requirements: Path = REQUIREMENTS) -> str:
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()
    return f"requirements.txt sha256 {digest}\npython {python.version}\n"


def read_stamp(venv: Path) -> str | None:
    try:
        return (venv / STAMP_NAME).read_text(encoding="utf-8")
    except OSError:
        return None


def ensure_venv(
    python: Interpreter,
    venv: Path,
    verbose: bool = False,
    requirements: Path = REQUIREMENTS,
    use_wheelhouse: bool = True,
) -> Path:
    """Build or refresh `venv` for `python` when needed; return the venv's python.
    `use_wheelhouse=False`: from the package index even when there is a wheelhouse."""
    wanted = stamp_text(python, requirements)
    current = probe(str(venv_python(venv))) if venv_python(venv).exists() else None
    if current is None or current.version != python.version:
        create_venv(python, venv)
    elif read_stamp(venv) == wanted:
        if verbose:
            print(f"bootstrap: {relative(venv)} is up to date (Python {python.version})")
        return venv_python(venv)
    install_requirements(venv, requirements, find_wheelhouse() if use_wheelhouse else None)
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


def is_url(location: str) -> bool:
    return urlsplit(location).scheme in ("http", "https")


def find_wheelhouse(root: Path = ROOT) -> str | None:
    """The wheelhouse to install from: WORKSHOP_WHEELHOUSE (a folder, or the URL of a page
    listing the wheels), else `wheels/` in `root` when it exists; None: the package index."""
    chosen = os.environ.get(WHEELHOUSE_VARIABLE, "").strip()
    if chosen:
        return chosen if is_url(chosen) else str(Path(chosen).expanduser().resolve())
    folder = root / WHEELHOUSE_FOLDER.name
    return str(folder) if folder.is_dir() else None


def shown_wheelhouse(wheelhouse: str) -> str:
    """A wheelhouse as shown to the user: its URL, or its folder (`wheels/` in the root)."""
    return wheelhouse if is_url(wheelhouse) else relative(Path(wheelhouse)) + os.sep


def find_uv() -> str | None:
    return shutil.which("uv")


def install_requirements(
    venv: Path, requirements: Path = REQUIREMENTS, wheelhouse: str | None = None
) -> None:
    """pip install -r `requirements` into `venv` (with uv when it is on the PATH); from
    `wheelhouse` alone, with the package index off, when one is given."""
    if wheelhouse is not None and not is_url(wheelhouse) and not Path(wheelhouse).is_dir():
        raise BootstrapError(
            f"{WHEELHOUSE_VARIABLE}={wheelhouse} is not a folder: set it to the wheelhouse's "
            "folder (or URL), or unset it to download from the package index"
        )
    if wheelhouse is None:
        source = "(minutes, the first time)"
    else:
        network = "no package index" if is_url(wheelhouse) else "no network"
        source = f"from the wheelhouse {shown_wheelhouse(wheelhouse)}, {network}"
    print(f"bootstrap: installing {requirements.name} into {relative(venv)} {source}", flush=True)
    uv = find_uv()
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
    command += ["-r", str(requirements)]
    if wheelhouse is None:
        if subprocess.run(command, check=False).returncode != 0:
            raise BootstrapError("pip could not install requirements.txt (see the output above)")
    else:
        install_from_wheelhouse(command, wheelhouse, venv, offline=uv is not None)
    # Compiled now, once, rather than by each of the many processes `make test` starts at once.
    compile_all = [str(venv_python(venv)), "-m", "compileall", "-q", "-j", "0", str(venv)]
    subprocess.run(compile_all, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def install_from_wheelhouse(command: list[str], wheelhouse: str, venv: Path, offline: bool) -> None:
    """Run the install `command` with the index off; a missing wheel is named in the error."""
    command = [*command, "--no-index", "--find-links", wheelhouse]
    if offline and not is_url(wheelhouse):
        command.append("--offline")  # uv: no network at all (a URL needs the local one)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    output = done.stdout + done.stderr
    print(output, end="", flush=True)
    if done.returncode == 0:
        return
    missing = missing_requirement(output)
    what = f"has no wheel of {missing}" if missing else "lacks a wheel (see above)"
    python = probe(str(venv_python(venv)))
    machine = (
        f"Python {python.minor if python else '?'} on {platform.system()} {platform.machine()}"
    )
    where = shown_wheelhouse(wheelhouse)
    undo = f"unset {WHEELHOUSE_VARIABLE}" if os.environ.get(WHEELHOUSE_VARIABLE) else "remove it"
    raise BootstrapError(
        f"the wheelhouse {where} {what} for {machine}. Either run `make wheelhouse` "
        "(python tools/run.py wheelhouse) where there is network and copy the folder again, "
        f"or {undo} to download from the package index"
    )


def missing_requirement(output: str) -> str | None:
    """The requirement that has no wheel, from pip's error or uv's (whose lines wrap)."""
    text = " ".join(output.split())
    found = re.search(r"No matching distribution found for (\S+)", text)  # pip
    found = found or re.search(r"Because there is no version of (\S+) and", text)
    found = found or re.search(r"Because (\S+) has no wheels with a matching", text)
    if found:
        return found.group(1)
    name = re.search(r"Because (\S+) was not found in the provided package locations", text)
    if name is None:
        return None
    # "... and you require probe-gamma==3.0, we can ..." (a specifier may hold a comma too)
    wanted = rf"(?:you require|depends on) ({re.escape(name.group(1))}(?:[^\s,]|,(?!\s))*)"
    spec = re.search(wanted, text)
    return spec.group(1) if spec else name.group(1)
