"""What the benchmarks share: step05 on a copy of its own, a redis-server of its own, Daphne
or Uvicorn processes on loopback ports, `manage.py` commands and websocket clients
(benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import json
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

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
STEP = ROOT / "step05_async_http"
RESULTS = Path(__file__).resolve().parent
# As the page (static/chat/catch_up.js): frames closer together than BURST_GAP_S are a burst,
# and QUIET_S after a burst's last frame the client asks once more; the API answers PAGE_SIZE
# messages a page.
BURST_GAP_S = 0.25
QUIET_S = 1.0
PAGE_SIZE = 100
# Migrate, seed, and the Lobby's id and an access token for each user, in one process (each
# `manage.py` costs a Django start-up: a second of CPU that make test's smoke runs share).
SET_UP = """
import io, json
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework_simplejwt.tokens import RefreshToken
from chat.models import Room
call_command("migrate", verbosity=0, interactive=False)
call_command("seed_demo", stdout=io.StringIO())
users = get_user_model().objects.all()
tokens = {user.username: str(RefreshToken.for_user(user).access_token) for user in users}
print(json.dumps({"lobby": Room.objects.get(name="Lobby").id, "tokens": tokens}))
"""
# A server process of the step, Daphne or Uvicorn, with what ours spares put back when asked,
# to measure it against itself in the same run: BENCH_SKIP_CLEANUP=0, Channels' database
# clean-up before every group event (chat/group_events.py skips it); BENCH_WALK_ONCE=0, the
# in-memory layer's walk for expired messages before every receive; BENCH_COPY_ONCE=0, its
# copy of a broadcast for every socket (chat/in_memory_layer.py walks once a second and copies
# once a broadcast). BENCH_ENCODE_ONCE=1 measures a change the workshop did not make: each
# broadcast frame encoded to JSON once, by its sender, rather than once per socket.
SERVER = """
import os, sys
if os.environ.get("BENCH_SKIP_CLEANUP") == "0":
    from chat.group_events import SkipsCleanupForGroupEvents
    SkipsCleanupForGroupEvents.NO_DATABASE_EVENTS = frozenset()
if os.environ.get("BENCH_WALK_ONCE") == "0":
    from chat.in_memory_layer import CheapBroadcastInMemoryChannelLayer
    CheapBroadcastInMemoryChannelLayer.CLEANUP_EVERY_S = 0.0
if os.environ.get("BENCH_COPY_ONCE") == "0":
    from channels.layers import InMemoryChannelLayer
    from chat.in_memory_layer import CheapBroadcastInMemoryChannelLayer
    CheapBroadcastInMemoryChannelLayer.group_send = InMemoryChannelLayer.group_send
if os.environ.get("BENCH_ENCODE_ONCE") == "1":  # what encoding each frame once would win
    import json
    import django
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from channels.layers import get_channel_layer
    from chat import helpers
    from chat.consumers import AsyncBaseConsumer

    class EncodesOnce:
        def __init__(self, layer):
            self.layer = layer

        async def group_send(self, group, event):
            if event["type"] == "channel_message":
                event = {"type": "channel_message", "text": json.dumps(event["message"])}
            await self.layer.group_send(group, event)

    async def channel_message(consumer, event):
        await consumer.send(text_data=event["text"])

    helpers.get_channel_layer = lambda: EncodesOnce(get_channel_layer())
    AsyncBaseConsumer.channel_message = channel_message
server, sys.argv = sys.argv[1], sys.argv[1:]
if server == "uvicorn":
    from uvicorn.main import main
    main()
else:
    from daphne.cli import CommandLineInterface
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
    a redis-server of its own: `with Workshop() as workshop:`. `Workshop(redis=False)`: no
    Redis, the in-memory layer only (for a machine without redis-server)."""

    def __init__(self, redis: bool = True):
        self.stack = ExitStack()
        self.with_redis = redis
        self.redis_url = None

    def __enter__(self) -> Workshop:
        redis_server = shutil.which("redis-server") if self.with_redis else None
        if self.with_redis and redis_server is None:
            raise SystemExit("bench: needs redis-server (apt-get install redis-server)")
        folder = Path(self.stack.enter_context(tempfile.TemporaryDirectory()))
        self.step = folder / STEP.name
        ignore = shutil.ignore_patterns("db.sqlite3*", "__pycache__", ".pytest_cache")
        shutil.copytree(STEP, self.step, ignore=ignore)
        if redis_server is not None:
            self.redis_port = free_port()
            self.redis_command = [redis_server, "--port", str(self.redis_port)]
            self.redis_command += ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            self.redis = self.start_redis()
            self.stack.callback(lambda: self.stop_redis())
            self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.env = {
            **os.environ,
            "DJANGO_DEBUG": "false",  # as a deployment runs
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "JWT_ACCESS_SECONDS": "3600",
        }
        made = json.loads(self.manage("shell", "-c", SET_UP))
        self.lobby, self.tokens = made["lobby"], made["tokens"]
        return self

    def __exit__(self, *exc_info) -> None:
        self.stack.close()

    def start_redis(self) -> subprocess.Popen:
        process = subprocess.Popen(
            self.redis_command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.redis_port, process)
        return process

    def stop_redis(self) -> None:
        self.redis.terminate()
        self.redis.wait(timeout=10)

    def restart_redis(self, down_s: float = 1.0) -> None:
        """Redis stopped, then started again on the same port (empty: no persistence)."""
        self.stop_redis()
        time.sleep(down_s)
        self.redis = self.start_redis()

    def manage(self, *arguments: str, redis: bool = True) -> str:
        """What `python manage.py ...` prints last (`shell` first says what it imported)."""
        env = {**self.env, **({"REDIS_URL": self.redis_url} if redis and self.redis_url else {})}
        command = [sys.executable, "manage.py", *arguments]
        done = subprocess.run(
            command, cwd=self.step, env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip().splitlines()[-1]

    def token(self, username: str) -> str:
        """An access token of the user's, valid for an hour (JWT_ACCESS_SECONDS)."""
        return self.tokens[username]

    @contextmanager
    def daphne(self, redis: bool, **switches):
        """One Daphne process of the step; its base URL (see `serve`)."""
        with self.serve("Daphne", redis, **switches) as base:
            yield base

    @contextmanager
    def serve(
        self,
        server: str,
        redis: bool,
        skip_cleanup: bool = True,
        walk_once: bool = True,
        copy_once: bool = True,
        encode_once: bool = False,
    ):
        """One server process of the step, Daphne or Uvicorn, on the Redis layer or the
        in-memory one; its base URL. `skip_cleanup=False` puts Channels' clean-up before every
        group event back, `walk_once=False` the in-memory layer's walk before every receive,
        `copy_once=False` its copy for every socket; `encode_once=True` encodes each broadcast
        frame once (SERVER)."""
        port = free_port()
        env = {**self.env, "BENCH_SKIP_CLEANUP": str(int(skip_cleanup))}
        env["BENCH_WALK_ONCE"] = str(int(walk_once))
        env["BENCH_COPY_ONCE"] = str(int(copy_once))
        env["BENCH_ENCODE_ONCE"] = str(int(encode_once))
        if redis:
            if self.redis_url is None:
                raise RuntimeError("this Workshop has no Redis: Workshop(redis=True)")
            env["REDIS_URL"] = self.redis_url
        if server == "Uvicorn":  # its websockets on websockets' own protocol (in requirements)
            options = ["--port", str(port), "--ws", "websockets-sansio", "--lifespan", "off"]
            options += ["--log-level", "warning", "--no-access-log"]
            command = [sys.executable, "-c", SERVER, "uvicorn", *options]
        else:
            command = [sys.executable, "-c", SERVER, "daphne", "-p", str(port)]
        command.append("config.asgi:application")
        with serving(command, port, self.step, env):
            yield f"http://127.0.0.1:{port}"


def progress(name: str, text: str) -> None:
    print(f"{name}: {text}", flush=True)


class Client:
    """One socket of bob's in the Lobby, doing what the page (catch_up.js) does with its frames."""

    def __init__(self, session: aiohttp.ClientSession, base: str, room: int, token: str):
        self.session, self.base, self.room = session, base, room
        self.headers = {"Authorization": f"Bearer {token}"}
        self.held: dict[int, str] = {}  # id -> text: what the page shows
        self.last = 0  # the newest id held (catch_up.js: lastMessageId)
        self.live: list[int] = []  # the ids of the frames, in the order they came
        self.fetches = 0
        self.last_frame_at = -1.0
        self.quiet_check: asyncio.TimerHandle | None = None
        self.catching_up: asyncio.Task | None = None
        self.again = False

    async def catch_up(self) -> None:
        if self.catching_up is not None:  # one at a time: once more at its end
            self.again = True
            return await asyncio.shield(self.catching_up)
        self.catching_up = asyncio.ensure_future(self.fetch_all())
        try:
            await self.catching_up
        finally:
            self.catching_up = None

    async def fetch_all(self) -> None:
        while True:
            self.again = False
            while True:
                url = f"{self.base}/api/rooms/{self.room}/messages/?after={self.last}"
                async with self.session.get(url, headers=self.headers) as response:
                    response.raise_for_status()
                    page = await response.json()
                self.fetches += 1
                for message in page:
                    self.show(message)
                if len(page) < PAGE_SIZE:
                    break
            if not self.again:
                return

    def settled(self, now: float) -> bool:
        """No catch-up under way, and none due."""
        check = self.quiet_check
        due = check is not None and not check.cancelled() and check.when() > now
        return self.catching_up is None and not due

    def show(self, message: dict) -> None:
        self.held.setdefault(message["id"], message["text"])
        self.last = max(self.last, message["id"])

    async def receive(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        loop = asyncio.get_running_loop()
        async for frame in socket:
            message = json.loads(frame.data)["data"]
            self.live.append(message["id"])
            previous = message["previousId"]
            gap = previous is not None and previous > self.last
            if gap:
                loop.create_task(self.catch_up())
            else:
                self.show(message)
            now = loop.time()
            if gap or now - self.last_frame_at < BURST_GAP_S:
                if self.quiet_check is not None:
                    self.quiet_check.cancel()
                self.quiet_check = loop.call_later(
                    QUIET_S, lambda: loop.create_task(self.catch_up())
                )
            self.last_frame_at = now
