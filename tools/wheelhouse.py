"""`make wheelhouse`: every wheel requirements.txt needs, for each system and Python a room
brings, in one folder that the bootstrap installs from with no network (root tooling).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bootstrap import REQUIREMENTS, WHEELHOUSE_FOLDER, WHEELHOUSE_VARIABLE, shown_wheelhouse

PYTHON_VERSIONS = ("3.11", "3.12", "3.13", "3.14")

# pip evaluates environment markers (`colorama; sys_platform == "win32"`,
# `typing-extensions; python_version < "3.13"`) for the machine it runs on, whatever
# --platform and --python-version say (seen with pip 23.2; pypa/pip issues 4304 and 11010):
# a Windows wheelhouse made on Linux would lack colorama and hold pexpect. So pip runs with the
# markers of the target machine, through packaging's default_environment(), which every marker
# reads. pip has no API: main() is what `python -m pip` runs, and tests/test_wheelhouse.py
# checks on every `make test` that the markers still follow the target.
PIP_WITH_TARGET_MARKERS = """
import json, sys
from pip._vendor.packaging import markers
target = json.loads(sys.argv[1])
machine = markers.default_environment
markers.default_environment = lambda: {**machine(), **target}
from pip._internal.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def manylinux_tags(newest_glibc: int) -> tuple[str, ...]:
    """manylinux x86_64 tags up to glibc 2.`newest_glibc`, the oldest (most portable) first:
    pip prefers the earlier tag when a release has several wheels, and expands no PEP 600 tag
    to the older ones, so each is named, with its legacy alias (manylinux1, 2010, 2014)."""
    legacy = {5: "manylinux1", 12: "manylinux2010", 17: "manylinux2014"}
    tags = []
    for minor in range(5, newest_glibc + 1):
        tags.append(f"manylinux_2_{minor}_x86_64")
        if minor in legacy:
            tags.append(f"{legacy[minor]}_x86_64")
    return tuple(tags)


def macos_tags(arch: str, versions: list[str]) -> tuple[str, ...]:
    """macOS tags for `versions` ("10_9", "11_0", ...), the oldest first; pip adds the older
    minor versions and the universal2 wheels of each."""
    return tuple(f"macosx_{version}_{arch}" for version in versions)


@dataclass(frozen=True)
class System:
    """A kind of machine in the room: its wheel platform tags and its environment markers."""

    name: str
    platforms: tuple[str, ...]
    markers: dict[str, str]


def machine(os_name: str, sys_platform: str, system: str, arch: str) -> dict[str, str]:
    """The environment markers (PEP 508) of such a machine that do not depend on its Python."""
    return {
        "os_name": os_name,
        "sys_platform": sys_platform,
        "platform_system": system,
        "platform_machine": arch,
    }


MACOS_INTEL = ["10_9", *(f"10_{minor}" for minor in range(10, 16)), "11_0", "12_0"]
SYSTEMS = (
    # Wheels for glibc 2.28 or older (Debian 10, Ubuntu 20.04, RHEL 8 and later run them),
    # and for macOS 12 or older: a wheel made for a newer system is left out.
    System("linux-x86_64", manylinux_tags(28), machine("posix", "linux", "Linux", "x86_64")),
    System(
        "macos-arm64",
        macos_tags("arm64", ["11_0", "12_0"]),
        machine("posix", "darwin", "Darwin", "arm64"),
    ),
    System(
        "macos-x86_64",
        macos_tags("x86_64", MACOS_INTEL),
        machine("posix", "darwin", "Darwin", "x86_64"),
    ),
    System("windows-amd64", ("win_amd64",), machine("nt", "win32", "Windows", "AMD64")),
)
SYSTEM_NAMES = tuple(system.name for system in SYSTEMS)


@dataclass(frozen=True)
class Target:
    system: System
    python_version: str  # "3.14"

    @property
    def name(self) -> str:
        return f"{self.system.name} Python {self.python_version}"

    def markers(self) -> dict[str, str]:
        full = f"{self.python_version}.0"
        python = {"python_version": self.python_version, "python_full_version": full}
        cpython = {"implementation_name": "cpython", "implementation_version": full}
        # Nothing in the room is known about these two; empty rather than this machine's.
        unknown = {"platform_release": "", "platform_version": ""}
        return {**self.system.markers, **python, **cpython, **unknown}

    def pip_arguments(self, dest: Path, requirements: Path) -> list[str]:
        """`pip download` of every requirement and dependency as a wheel for this target."""
        arguments = ["download", "--only-binary=:all:", "--progress-bar", "off"]
        arguments += ["--disable-pip-version-check", "--python-version", self.python_version]
        abi = "cp" + self.python_version.replace(".", "")  # pip adds abi3 and none by itself
        arguments += ["--implementation", "cp", "--abi", abi]
        for platform in self.system.platforms:
            arguments += ["--platform", platform]
        return [*arguments, "--dest", str(dest), "--requirement", str(requirements)]


def targets(systems: list[str] | None = None, versions: list[str] | None = None) -> list[Target]:
    """Every system by every Python version (or the ones chosen)."""
    chosen = [system for system in SYSTEMS if not systems or system.name in systems]
    return [Target(system, version) for system in chosen for version in versions or PYTHON_VERSIONS]


def failure_reason(output: str) -> str:
    """What pip's output says went wrong, in a few words."""
    missing = re.search(r"No matching distribution found for (\S+)", output)
    if missing:
        return f"no wheel of {missing.group(1)} for it (pip stops at the first one missing)"
    errors = [line.strip() for line in output.splitlines() if line.startswith("ERROR:")]
    return errors[-1] if errors else (output.strip().splitlines() or ["pip failed"])[-1]


def download(python: Path, target: Target, dest: Path, requirements: Path, extra: list[str]) -> str:
    """Download `target`'s wheels into `dest`; "" when it worked, else why it did not."""
    command = [str(python), "-c", PIP_WITH_TARGET_MARKERS, json.dumps(target.markers())]
    command += [*target.pip_arguments(dest, requirements), *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return "" if done.returncode == 0 else failure_reason(done.stdout + done.stderr)


def wheel_sizes(folder: Path) -> dict[str, int]:
    return {path.name: path.stat().st_size for path in folder.glob("*.whl")}


def megabytes(sizes) -> str:
    return f"{sum(sizes) / 1e6:.1f} MB"


def main(
    python: Path,
    dest: Path = WHEELHOUSE_FOLDER,
    systems: list[str] | None = None,
    versions: list[str] | None = None,
    requirements: Path = REQUIREMENTS,
    extra_pip_arguments: list[str] | None = None,
) -> int:
    """`make wheelhouse`, with `python`'s pip (the venv's). 1 when a target failed."""
    chosen = targets(systems, versions)
    dest.mkdir(parents=True, exist_ok=True)
    before, started = wheel_sizes(dest), time.monotonic()
    shown = shown_wheelhouse(str(dest))
    print(f"wheelhouse: {len(chosen)} targets into {shown}, one after the other")
    failed = []
    for target in chosen:
        began = time.monotonic()
        reason = download(python, target, dest, requirements, extra_pip_arguments or [])
        result = f"FAILED: {reason}" if reason else "ok"
        print(f"wheelhouse: {target.name}: {result} ({time.monotonic() - began:.0f} s)", flush=True)
        if reason:
            failed.append(f"{target.name} ({reason})")
    after = wheel_sizes(dest)
    written = [size for name, size in after.items() if name not in before]
    print(
        f"wheelhouse: wrote {len(written)} files, {megabytes(written)}, in "
        f"{time.monotonic() - started:.0f} s; {shown} holds {len(after)} files, "
        f"{megabytes(after.values())}"
    )
    if failed:
        print(f"wheelhouse: {len(failed)} target(s) failed: " + "; ".join(failed))
        print("wheelhouse: machines of those targets need the network, or another Python")
        return 1
    where = f"copy {shown} into its repository root as wheels/, or set {WHEELHOUSE_VARIABLE}"
    print(f"wheelhouse: on each machine, {where} to it")
    return 0
