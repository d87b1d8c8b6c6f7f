"""What the benchmarks share: step05 on a copy of its own, a redis-server of its own, Daphne
processes on loopback ports, `manage.py` commands and websocket clients (benchmarks/README.md).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEP = ROOT / "step05_async_http"
RESULTS = Path(__file__).resolve().parent
LOBBY = 'from chat.models import Room; print(Room.objects.get(name="Lobby").id)'
# Daphne, with Channels' database clean-up before every group event put back (SKIP=0): what
# chat/group_events.py spares, measured against it in the same run.
DAPHNE = """
import os, sys
if os.environ.get("BENCH_SKIP_CLEANUP") == "0":
    from chat.group_events import SkipsCleanupForGroupEvents
    SkipsCleanupForGroupEvents.NO_DATABASE_EVENTS = frozenset()
from daphne.cli import CommandLineInterface
sys.argv = ["daphne", *sys.argv[1:]]
CommandLineInterface.entrypoint()
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:3]} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


@contextmanager
def serving(command: list[str], port: int, cwd: Path, env: dict):
    """A server process, stopped when the block ends."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


class Workshop:
    """step05 copied into a temporary folder (a database of its own), migrated and seeded, with
    a redis-server of its own: `with Workshop() as workshop:`."""

    def __init__(self):
        self.stack = ExitStack()

    def __enter__(self) -> Workshop:
        redis_server = shutil.which("redis-server")
        if redis_server is None:
            raise SystemExit("bench: needs redis-server (apt-get install redis-server)")
        folder = Path(self.stack.enter_context(tempfile.TemporaryDirectory()))
        self.step = folder / STEP.name
        ignore = shutil.ignore_patterns("db.sqlite3*", "__pycache__", ".pytest_cache")
        shutil.copytree(STEP, self.step, ignore=ignore)
        redis_port = free_port()
        redis = [redis_server, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""]
        self.stack.enter_context(serving([*redis, "--appendonly", "no"], redis_port, folder, {}))
        self.redis_url = f"redis://127.0.0.1:{redis_port}/0"
        self.env = {
            **os.environ,
            "DJANGO_DEBUG": "false",  # as a deployment runs
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "JWT_ACCESS_SECONDS": "3600",
        }
        self.manage("migrate", "--noinput")
        self.manage("seed_demo")
        self.lobby = int(self.manage("shell", "-c", LOBBY))
        return self

    def __exit__(self, *exc_info) -> None:
        self.stack.close()

    def manage(self, *arguments: str, redis: bool = True) -> str:
        """What `python manage.py ...` prints last (`shell` first says what it imported)."""
        env = {**self.env, **({"REDIS_URL": self.redis_url} if redis else {})}
        command = [sys.executable, "manage.py", *arguments]
        done = subprocess.run(
            command, cwd=self.step, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip().splitlines()[-1]

    def token(self, username: str) -> str:
        return self.manage("token", username)

    @contextmanager
    def daphne(self, redis: bool, skip_cleanup: bool = True):
        """One Daphne process of the step, on the Redis layer or the in-memory one; its base
        URL. `skip_cleanup=False` puts Channels' clean-up before every group event back."""
        port = free_port()
        env = {**self.env, "BENCH_SKIP_CLEANUP": "1" if skip_cleanup else "0"}
        if redis:
            env["REDIS_URL"] = self.redis_url
        command = [sys.executable, "-c", DAPHNE, "-p", str(port), "config.asgi:application"]
        with serving(command, port, self.step, env):
            yield f"http://127.0.0.1:{port}"


def progress(name: str, text: str) -> None:
    print(f"{name}: {text}", flush=True)
