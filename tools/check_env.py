"""`make check`: is this machine ready for the workshop? One line per requirement (root tooling).

Runs alone as `python tools/check_env.py [--venv DIR]` (it installs nothing) or as
`python tools/run.py check` (after the bootstrap). Exit 1 when a required item fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import urlopen

from bootstrap import (
    REQUIREMENTS,
    WHEELHOUSE_VARIABLE,
    find_wheelhouse,
    is_url,
    running_interpreter,
    shown_wheelhouse,
    venv_dir,
    venv_python,
)
from bootstrap import probe as probe_python
from workshop import (
    chromium_install_hint,
    port_is_free,
    relative,
    system_chromium,
    who_listens_hint,
)

# Importable module -> its distribution name in requirements.txt.
PACKAGES = {
    "django": "Django",
    "channels": "channels",
    "daphne": "daphne",
    "channels_redis": "channels-redis",
    "rest_framework": "djangorestframework",
    "rest_framework_simplejwt": "djangorestframework-simplejwt",
    "requests": "requests",
    "aiohttp": "aiohttp",
    "pytest": "pytest",
    "pytest_django": "pytest-django",
    "pytest_asyncio": "pytest-asyncio",
    "xdist": "pytest-xdist",
    "nbclient": "nbclient",
    "jupytext": "jupytext",
    "playwright": "playwright",
    "sphinx": "Sphinx",
    "sphinx_revealjs": "sphinx-revealjs",
    "matplotlib": "matplotlib",
    "psutil": "psutil",
    "uvicorn": "uvicorn",
}
DEMO_PORTS = (8000, 8001)
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
BOOTSTRAP_HINT = "make bootstrap (or python tools/run.py bootstrap)"

# Runs inside the venv's python: imports each module, reports its installed version.
IMPORT_PROBE = """
import importlib, importlib.metadata, json, sys
found = {}
for module, distribution in json.loads(sys.argv[1]).items():
    try:
        importlib.import_module(module)
        found[module] = {"version": importlib.metadata.version(distribution)}
    except Exception as error:
        found[module] = {"error": f"{type(error).__name__}: {error}"}
print(json.dumps(found))
"""
# Runs inside the venv's python: where Playwright's own Chromium is (fetched or not).
PLAYWRIGHT_PROBE = """
from playwright.sync_api import sync_playwright
with sync_playwright() as playwright:
    print(playwright.chromium.executable_path)
"""


@dataclass(frozen=True)
class Result:
    status: str  # OK, FAIL (a requirement) or WARN (optional)
    what: str
    todo: str = ""

    def line(self) -> str:
        hint = f" -> {self.todo}" if self.todo and self.status != "OK" else ""
        return f"{self.status:<6}{self.what}{hint}"


def check_python(venv: Path) -> Result:
    """The venv's Python when there is one (it runs everything), else the one running this."""
    python = probe_python(str(venv_python(venv))) or running_interpreter()
    if python.version_info >= (3, 11):
        return Result("OK", f"Python {python.version} ({python.executable})")
    what = f"Python {python.version} ({python.executable}) is older than 3.11"
    return Result("FAIL", what, "install Python 3.11+, then make bootstrap PYTHON=python3.11")


def pinned_versions() -> dict[str, str]:
    """requirements.txt's `name==version` pins, by normalized name."""
    pins = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*==\s*([^\s;#]+)", line)
        if match:
            pins[normalize(match.group(1))] = match.group(2)
    return pins


def normalize(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def check_packages(venv: Path) -> list[Result]:
    python = venv_python(venv)
    if not python.exists():
        return [Result("FAIL", f"virtual environment {relative(venv)}", BOOTSTRAP_HINT)]
    command = [str(python), "-c", IMPORT_PROBE, json.dumps(PACKAGES)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        error = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [Result("FAIL", f"{relative(venv)} runs ({error})", BOOTSTRAP_HINT)]
    found = json.loads(done.stdout)
    pins = pinned_versions()
    return [package_result(module, found[module], pins) for module in PACKAGES]


def package_result(module: str, found: dict, pins: dict[str, str]) -> Result:
    if "error" in found:
        return Result("FAIL", f"import {module} ({found['error']})", BOOTSTRAP_HINT)
    version = found["version"]
    pinned = pins.get(normalize(PACKAGES[module]))
    if pinned and pinned != version:
        what = f"{module} {version}, requirements.txt pins {pinned}"
        return Result("FAIL", what, BOOTSTRAP_HINT)
    return Result("OK", f"{module} {version}")


def check_wheelhouse() -> Result:
    """Where the bootstrap installs from: a wheelhouse (`make wheelhouse`) or the index."""
    found = find_wheelhouse()
    if found is None:
        what = "no wheelhouse: the bootstrap downloads from the package index"
        return Result("OK", f"{what} (offline: {WHEELHOUSE_VARIABLE} or wheels/)")
    unset = f"unset {WHEELHOUSE_VARIABLE} to download from the package index"
    if is_url(found):
        try:
            with urlopen(found, timeout=3):
                pass
        except OSError as error:
            fix = f"check the URL and its server, or {unset}"
            return Result("FAIL", f"wheelhouse {found} does not answer ({error})", fix)
        return Result("OK", f"wheelhouse {found}: the bootstrap installs from it, no index")
    folder = Path(found)
    if not folder.is_dir():
        fix = f"set it to the wheelhouse's folder, or {unset}"
        return Result("FAIL", f"{WHEELHOUSE_VARIABLE}={found} is not a folder", fix)
    sizes = [path.stat().st_size for path in folder.glob("*.whl")]
    if not sizes:
        fix = "make wheelhouse where there is network, or remove the folder"
        return Result("FAIL", f"wheelhouse {shown_wheelhouse(found)} holds no wheel", fix)
    what = f"wheelhouse {shown_wheelhouse(found)}: {len(sizes)} wheels, {sum(sizes) / 1e6:.0f} MB"
    return Result("OK", f"{what}; the bootstrap installs from it, no network")


def check_port(port: int) -> Result:
    what = f"port {port} free on 127.0.0.1"
    if port_is_free(port):
        return Result("OK", what)
    todo = f"stop what listens there ({who_listens_hint(port)}) before make demo"
    return Result("FAIL", f"port {port} busy on 127.0.0.1", todo)


def check_redis(url: str) -> Result:
    what = f"Redis answers PING at {url} (optional: REDIS_URL, Redis tests)"
    error = redis_ping(url)
    if error is None:
        return Result("OK", what)
    todo = (
        "install and start it: apt-get install redis-server && redis-server --daemonize yes"
        " | brew install redis && brew services start redis"
        " | docker run -d -p 6379:6379 redis:7"
    )
    return Result("WARN", f"no Redis at {url} ({error}); the in-memory layer works without", todo)


def redis_ping(url: str, timeout: float = 2.0) -> str | None:
    """None when Redis at `url` answers PING; else what went wrong. Raw RESP: no package."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        return f"cannot check a {parts.scheme}:// URL"
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            conn = raw
            if parts.scheme == "rediss":
                conn = ssl.create_default_context().wrap_socket(raw, server_hostname=host)
            if parts.password:
                login = [unquote(parts.username)] if parts.username else []
                reply = redis_command(conn, "AUTH", *login, unquote(parts.password))
                if reply != "+OK":
                    return f"AUTH answered {reply!r}"
            reply = redis_command(conn, "PING")
    except OSError as error:
        return str(error) or type(error).__name__
    return None if reply == "+PONG" else f"PING answered {reply!r}"


def redis_command(conn: socket.socket, *args: str) -> str:
    encoded = [arg.encode() for arg in args]
    request = b"*%d\r\n" % len(encoded) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in encoded)
    conn.sendall(request)
    with conn.makefile("rb") as replies:
        return replies.readline().decode(errors="replace").strip()


def check_redis_server() -> Result:
    found = shutil.which("redis-server")
    if found:
        return Result("OK", f"redis-server for the Redis outage tests ({found})")
    return Result(
        "WARN",
        "no redis-server program (step04+'s outage tests start their own; they skip without "
        "it, except under CI=true)",
        "apt-get install redis-server | brew install redis",
    )


def check_browser(venv: Path) -> Result:
    """Debian's Chromium, else Playwright's own (what the browser tests and slides use)."""
    found = system_chromium()
    if found:
        return Result("OK", f"Chromium for browser tests ({found})")
    python = venv_python(venv)
    if python.exists():
        done = subprocess.run(
            [str(python), "-c", PLAYWRIGHT_PROBE], capture_output=True, text=True, check=False
        )
        own = done.stdout.strip()
        if done.returncode == 0 and own and os.path.exists(own):
            return Result("OK", f"Chromium for browser tests (Playwright's own: {own})")
    return Result(
        "WARN",
        "no Chromium for browser tests (they skip without it, except under CI=true)",
        chromium_install_hint(relative(python)),
    )


def report(venv: Path) -> int:
    """Print the report; 1 when a required item failed."""
    results = [check_python(venv), check_wheelhouse(), *check_packages(venv)]
    results += [check_port(port) for port in DEMO_PORTS]
    results += [check_redis(os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL), check_redis_server()]
    results.append(check_browser(venv))
    for result in results:
        print(result.line())
    failed = sum(result.status == "FAIL" for result in results)
    print(f"{failed} required item(s) failed" if failed else "ready for the workshop")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", default=os.environ.get("VENV"), help="venv dir (default .venv)")
    args = parser.parse_args(argv)
    return report(venv_dir(running_interpreter(), args.venv))


if __name__ == "__main__":
    sys.exit(main())
