"""`python manage.py follow_room ROOM_ID USERNAME`: a room's messages in the terminal, as the page
shows them (step04; optional reading).

The room's history, then each message as its frame comes. A frame whose `previousId` this
client has not printed means frames never came (a burst of saves, a socket too far behind):
it fetches `?after=`, page after page, as static/chat/catch_up.js does, and asks once more
after a burst. The socket reconnects after a close, with a new token after a 4401. Ctrl-C
stops it; `--messages N` stops once N messages are printed (for scripts and tests).
"""

import asyncio
import json

import aiohttp
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework_simplejwt.tokens import AccessToken

MESSAGES_PAGE_SIZE = 100  # chat/api.py
BURST_GAP_S = 0.25  # as catch_up.js: frames closer together than this are a burst,
QUIET_S = 1.0  # and this long after a burst's last frame, the client asks once more
TOKEN_EXPIRED, ACCESS_REVOKED = 4401, 4403
STABLE_S, MAX_RETRY_S = 5, 30  # as room.js: a socket open this long starts the backoff anew


class Follower:
    """One room's messages, each printed once, in order, whatever frames never came."""

    def __init__(self, url, room_id, user, write, stop_after=None):
        self.url, self.room_id, self.user, self.write = url.rstrip("/"), room_id, user, write
        self.stop_after, self.printed = stop_after, set()  # the ids printed
        self.last_id = None  # the newest id printed; None until the history is loaded
        self.catching_up = asyncio.Lock()
        self.done = asyncio.Event()

    def headers(self):
        # A token of the moment: the server closes the socket with 4401 when it expires.
        token = AccessToken.for_user(self.user)
        return {"Authorization": f"Bearer {token}", "Origin": self.url}

    def show(self, message):
        if message["id"] in self.printed:
            return  # a catch-up and a frame can both bring a message: print each id once
        self.write(f"[{message['id']}] {message['author']}: {message['text']}")
        self.printed.add(message["id"])
        self.last_id = max(self.last_id or 0, message["id"])
        if self.stop_after is not None and len(self.printed) >= self.stop_after:
            self.done.set()

    async def catch_up(self, session):
        # The lock makes a second call wait for the first and then ask again: what came
        # during the first fetch is asked for too.
        async with self.catching_up:
            while True:
                query = "" if self.last_id is None else f"?after={self.last_id}"
                url = f"{self.url}/api/rooms/{self.room_id}/messages/{query}"
                async with session.get(url, headers=self.headers()) as response:
                    response.raise_for_status()
                    page = await response.json()
                for message in page:
                    self.show(message)
                self.last_id = self.last_id or 0  # an empty room: everything from now is news
                if len(page) < MESSAGES_PAGE_SIZE:
                    return

    def catch_up_soon(self, session):
        """A catch-up of its own, beside the frames; a failure is said, not raised."""

        def said(task):
            if not task.cancelled() and task.exception() is not None:
                self.write(f"(catching up failed: {task.exception()!r}; the next frame retries)")

        asyncio.ensure_future(self.catch_up(session)).add_done_callback(said)

    async def follow(self):
        """Until `stop_after` messages are printed, or the user may no longer follow."""
        async with aiohttp.ClientSession() as session:
            watch = asyncio.ensure_future(self.run(session))
            stop = asyncio.ensure_future(self.done.wait())
            await asyncio.wait([watch, stop], return_when=asyncio.FIRST_COMPLETED)
            for task in (watch, stop):
                task.cancel()
            return watch.result() if watch.done() and not watch.cancelled() else None

    async def run(self, session):
        ws_url = self.url.replace("http", "ws", 1) + f"/ws/conversations/{self.room_id}/"
        loop, retry_s = asyncio.get_running_loop(), 1
        while True:
            try:
                async with session.ws_connect(ws_url, headers=self.headers()) as socket:
                    opened = loop.time()
                    await self.catch_up(session)
                    await self.receive(session, socket)
                code = socket.close_code
                if loop.time() - opened > STABLE_S:
                    retry_s = 1  # it was live: a server that closes at once keeps backing off
            except aiohttp.WSServerHandshakeError as error:
                if error.status == 403:
                    refused = f"The server refused the socket (403): is {self.user} in the room?"
                    raise CommandError(refused) from None
                code = None
            except aiohttp.ClientError:
                code = None  # the server is away: try again later
            if code == ACCESS_REVOKED:
                raise CommandError("No longer a member of this room (4403).")
            if code == TOKEN_EXPIRED:  # a new token, at once
                self.write("(the access token expired: reconnecting with a new one)")
            else:
                self.write(f"(disconnected; reconnecting in {retry_s} s)")
                await asyncio.sleep(retry_s)
                retry_s = min(2 * retry_s, MAX_RETRY_S)

    async def receive(self, session, socket):
        loop = asyncio.get_running_loop()
        last_frame_at, quiet_check = float("-inf"), None
        try:
            async for frame in socket:
                data = json.loads(frame.data) if frame.type == aiohttp.WSMsgType.TEXT else {}
                if data.get("type") != "message":
                    continue
                message = data["data"]
                gap = message["previousId"] is not None and message["previousId"] > self.last_id
                if gap:
                    self.catch_up_soon(session)
                else:
                    self.show(message)
                now = loop.time()
                if gap or now - last_frame_at < BURST_GAP_S:
                    if quiet_check is not None:
                        quiet_check.cancel()
                    quiet_check = loop.call_later(QUIET_S, self.catch_up_soon, session)
                last_frame_at = now
        finally:
            if quiet_check is not None:
                quiet_check.cancel()


class Command(BaseCommand):
    help = "Print the messages of room ROOM_ID as USERNAME sees them, live, fetching any gap."

    def add_arguments(self, parser):
        parser.add_argument("room_id", type=int)
        parser.add_argument("username")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="the server")
        parser.add_argument("--messages", type=int, help="stop once this many are printed")

    def handle(self, *args, room_id, username, url, messages, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}: run `python manage.py seed_demo`?")
        follower = Follower(url, room_id, user, self.stdout.write, stop_after=messages)
        try:
            asyncio.run(follower.follow())
        except KeyboardInterrupt:
            pass
