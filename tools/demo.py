"""`make demo`: migrate, seed and serve one step with its fake news server (root tooling).

Ctrl-C (or SIGTERM) stops every process it started: each server runs in its own process group,
so that runserver's autoreloader child goes with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from workshop import port_is_free, relative

APP_PORT, NEWS_PORT = 8000, 8001
STARTUP_SECONDS = 60
STOP_SECONDS = 5


def main(python: Path, step: Path) -> int:
    busy = [port for port in (APP_PORT, NEWS_PORT) if not port_is_free(port)]
    if busy:
        ports = ("ports " if len(busy) > 1 else "port ") + " and ".join(map(str, busy))
        print(f"demo: {ports} already in use on 127.0.0.1; nothing started.")
        print(f"demo: stop what listens there (`lsof -i :{busy[0]}` shows it; an earlier demo?)")
        return 1
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        if manage(python, step, command).wait() != 0:
            print(f"demo: `manage.py {' '.join(command)}` failed in {relative(step)}")
            return 1
    return serve(python, step)


def manage(python: Path, step: Path, arguments: list[str], group: bool = False):
    """Start `python manage.py ...` in the step folder; with `group`, in its own process group."""
    options = {}
    if group and os.name == "nt":
        options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    elif group:
        options["start_new_session"] = True
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([str(python), "manage.py", *arguments], cwd=step, env=env, **options)


def serve(python: Path, step: Path) -> int:
    def stop_on_signal(signum, frame):
        raise KeyboardInterrupt

    # SIGINT too: a shell starts background jobs with Ctrl-C ignored, and `kill -INT` should
    # still stop the demo.
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    servers = []
    try:
        servers.append(manage(python, step, ["fake_news_server", "--port", str(NEWS_PORT)], True))
        servers.append(manage(python, step, ["runserver", f"127.0.0.1:{APP_PORT}"], True))
        if not wait_until_listening(APP_PORT, servers):
            print("demo: the server did not start (see its output above)")
            return 1
        print_banner(step)
        while all(server.poll() is None for server in servers):
            time.sleep(0.5)
        print("demo: a server stopped on its own (see its output above); stopping the other")
        return 1
    except KeyboardInterrupt:
        print("\ndemo: stopping")
        return 0
    finally:
        # A second Ctrl-C must not interrupt the cleanup and leave servers behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        stop(servers)


def wait_until_listening(port: int, servers: list[subprocess.Popen]) -> bool:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and all(server.poll() is None for server in servers):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.3)
    return False


def print_banner(step: Path) -> None:
    print(f"\n{step.name} is running:", flush=True)
    print(f"  app        http://127.0.0.1:{APP_PORT}/")
    print(f"  collector  http://127.0.0.1:{APP_PORT}/collector/collect_news_sync/")
    print(f"  news       http://127.0.0.1:{NEWS_PORT}/blog/1/  (the local fake news server)")
    print("  logins     alice, bob, carol; password workshop")
    print("Ctrl-C stops both servers.\n", flush=True)


def stop(servers: list[subprocess.Popen]) -> None:
    """Terminate each server's process group, wait, and kill what is left after a timeout."""
    for server in servers:
        signal_group(server, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for server in servers:
        try:
            server.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        # Also for a leader that has exited: its children may still hold the group.
        signal_group(server, getattr(signal, "SIGKILL", signal.SIGTERM))
        server.wait()


def signal_group(server: subprocess.Popen, signum: int) -> None:
    if os.name == "nt":
        # No process groups to signal: taskkill /T ends the tree (the autoreloader's child too).
        command = ["taskkill", "/T", "/F", "/PID", str(server.pid)]
        subprocess.run(command, capture_output=True, check=False)
        return
    try:
        os.killpg(server.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
