"""`make demo`: migrate, seed and serve one step with its fake news server (root tooling);
`make reset`: a new database for a step, with the demo data.

`make demo SERVERS=2` serves the step twice, on :8000 and :8002, sharing Redis: a message
written on one server reaches the pages of the other (step02 and later).
Ctrl-C (or SIGTERM) stops every process it started: each server runs in its own process group,
so that runserver's autoreloader child goes with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from check_env import DEFAULT_REDIS_URL, redis_ping
from workshop import port_is_free, relative, who_listens_hint

APP_PORT, NEWS_PORT, SECOND_APP_PORT = 8000, 8001, 8002
STARTUP_SECONDS = 60
STOP_SECONDS = 5
DATABASE = "db.sqlite3"  # each step's own, in its folder (config/settings.py)
# The demo's data: the schema, then the people and rooms (`make demo` and `make reset`).
DATABASE_COMMANDS = (["migrate", "--noinput"], ["seed_demo"])


def main(python: Path, step: Path, servers: int = 1) -> int:
    app_ports = [APP_PORT, SECOND_APP_PORT][:servers]
    extra_env = {}
    if servers > 1:
        if not (step / "config" / "asgi.py").exists():
            print(f"demo: {step.name} has no Channels yet: SERVERS=2 needs step02 or later.")
            return 1
        redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
        problem = redis_ping(redis_url)
        if problem is not None:
            print("demo: two servers share their groups through Redis, and none answers at")
            print(f"demo: {redis_url} ({problem}). Start one, then run this again:")
            print("demo:   apt-get install redis-server && redis-server --daemonize yes")
            print("demo:   brew install redis && brew services start redis")
            print("demo:   docker run -d -p 6379:6379 redis:7")
            print("demo: (or set REDIS_URL to the Redis you have)")
            return 1
        extra_env["REDIS_URL"] = redis_url
    busy = [port for port in (*app_ports, NEWS_PORT) if not port_is_free(port)]
    if busy:
        ports = ("ports " if len(busy) > 1 else "port ") + " and ".join(map(str, busy))
        print(f"demo: {ports} already in use on 127.0.0.1; nothing started.")
        print(f"demo: stop what listens there ({who_listens_hint(busy[0])}; an earlier demo?)")
        return 1
    if not prepare_database(python, step):
        return 1
    return serve(python, step, app_ports, extra_env)


def prepare_database(python: Path, step: Path, extra_env=None, quiet=False) -> bool:
    """Migrate and seed the step's database (`extra_env` may name another settings module)."""
    for command in DATABASE_COMMANDS:
        arguments = [*command, *(["--verbosity", "0"] if quiet and command[0] == "migrate" else [])]
        if manage(python, step, arguments, extra_env=extra_env).wait() != 0:
            print(f"demo: `manage.py {' '.join(command)}` failed in {relative(step)}")
            return False
    return True


def reset(python: Path, step: Path) -> int:
    """`make reset`: a new database for the step with the demo data, in a few seconds.

    The new database is built beside the old one, then moved over it in one step: a running
    server never finds a half-built or missing file, and from its next request it reads the
    new one (Django opens the file for each request). If a command fails, the old one stays.
    """
    database = step / DATABASE
    fresh = database.with_name(DATABASE + ".new")  # same folder: the move is one rename
    fresh.unlink(missing_ok=True)  # left by a reset that was stopped
    with tempfile.TemporaryDirectory() as folder:
        # The step's settings, with the database's name changed to the new file.
        settings = Path(folder) / "reset_settings.py"
        settings.write_text(
            "from config.settings import *  # noqa: F403\n"
            f'DATABASES["default"]["NAME"] = {str(fresh)!r}  # noqa: F405\n',
            encoding="utf-8",
        )
        paths = [folder, *filter(None, [os.environ.get("PYTHONPATH")])]
        extra_env = {
            "DJANGO_SETTINGS_MODULE": "reset_settings",
            "PYTHONPATH": os.pathsep.join(paths),
        }
        if not prepare_database(python, step, extra_env, quiet=True):
            fresh.unlink(missing_ok=True)
            print(f"reset: {relative(database)} is unchanged")
            return 1
    # What SQLite leaves beside a database (a transaction's journal) belongs to the old one.
    for suffix in ("-journal", "-wal", "-shm"):
        database.with_name(DATABASE + suffix).unlink(missing_ok=True)
    try:
        os.replace(fresh, database)
    except PermissionError:  # Windows: a server holds the old file open
        fresh.unlink(missing_ok=True)
        print(f"reset: {relative(database)} is in use; stop the server, then reset again")
        return 1
    print(f"reset: {relative(database)} is new, with the demo data above. A running server")
    print("reset: reads it from its next request; pages opened before the reset must log in")
    print("reset: again at their next reload (their sessions were in the old database).")
    return 0


def manage(
    python: Path, step: Path, arguments: list[str], group: bool = False, extra_env=None
) -> subprocess.Popen:
    """Start `python manage.py ...` in the step folder; with `group`, in its own process group."""
    options = {}
    if group and os.name == "nt":
        options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    elif group:
        options["start_new_session"] = True
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    return subprocess.Popen([str(python), "manage.py", *arguments], cwd=step, env=env, **options)


def serve(python: Path, step: Path, app_ports: list[int], extra_env: dict) -> int:
    def stop_on_signal(signum, frame):
        raise KeyboardInterrupt

    # SIGINT too: a shell starts background jobs with Ctrl-C ignored, and `kill -INT` should
    # still stop the demo.
    signal.signal(signal.SIGTERM, stop_on_signal)
    signal.signal(signal.SIGINT, stop_on_signal)
    servers = []
    try:
        servers.append(manage(python, step, ["fake_news_server", "--port", str(NEWS_PORT)], True))
        for port in app_ports:
            command = ["runserver", f"127.0.0.1:{port}"]
            servers.append(manage(python, step, command, True, extra_env))
        if not all(wait_until_listening(port, servers) for port in app_ports):
            print("demo: a server did not start (see its output above)")
            return 1
        print_banner(step, app_ports, extra_env.get("REDIS_URL"))
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


def print_banner(step: Path, app_ports: list[int], redis_url: str | None) -> None:
    print(f"\n{step.name} is running:", flush=True)
    print(f"  app        http://127.0.0.1:{APP_PORT}/")
    if len(app_ports) > 1:
        # Browsers keep cookies per host name, not per port: another name, another login.
        print(f"  app, again http://localhost:{app_ports[1]}/  (a second Daphne process)")
        print(f"  Redis      {redis_url}, shared by both servers")
        print("  Log in as alice on the first and as bob on the second: each sees the other's")
        print("  messages at once. From a terminal, the same through Redis:")
        print(f"    cd {relative(step)} && REDIS_URL={redis_url} \\")
        print(
            '      ../.venv/bin/python manage.py post_message Lobby carol "hello from a terminal"'
        )
    print(f"  collector  http://127.0.0.1:{APP_PORT}/collector/  (the page: a timeline per call)")
    print(f"             http://127.0.0.1:{APP_PORT}/collector/collect_news_sync/")
    if (step / "collector" / "consumers.py").exists():  # step05: the two async collectors
        print(f"             http://127.0.0.1:{APP_PORT}/collector/collect_news_async/")
        print(f"             http://127.0.0.1:{APP_PORT}/collector/collect_news_async_view/")
    print(f"  news       http://127.0.0.1:{NEWS_PORT}/blog/1/  (the local fake news server)")
    print("  logins     alice, bob, carol; password workshop")
    print("Ctrl-C stops every server.\n", flush=True)


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
