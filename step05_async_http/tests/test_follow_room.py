"""`manage.py follow_room`, the terminal's client of a room (step04): every message printed
once and in order, also those whose frames never came, against a real Daphne on loopback."""

import asyncio
import re
from datetime import timedelta

import aiohttp
import pytest
from channels.db import database_sync_to_async
from django.core.management import CommandError, call_command
from rest_framework_simplejwt.tokens import AccessToken

from chat.management.commands import follow_room
from chat.management.commands.follow_room import Follower
from chat.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


class Printed:
    """The follower's lines, and a wait for one of them."""

    def __init__(self):
        self.lines = []
        self.changed = asyncio.Event()

    def write(self, line):
        self.lines.append(line)
        self.changed.set()

    def texts(self):
        return [m.group(1) for line in self.lines if (m := re.match(r"\[\d+\] \w+: (.*)", line))]

    async def until(self, text):
        """Until the message `text` is printed."""
        await self.until_true(lambda: text in self.texts())

    async def until_line(self, part):
        """Until a line with `part` in it is printed."""
        await self.until_true(lambda: any(part in line for line in self.lines))

    async def until_true(self, found, seconds=15):
        async with asyncio.timeout(seconds):
            while not found():
                self.changed.clear()
                await self.changed.wait()


@database_sync_to_async
def store_unbroadcast(room, author, texts):
    """Messages stored with no frame (bulk_create sends no post_save): dropped frames."""
    Message.objects.bulk_create(Message(room=room, author=author, text=text) for text in texts)


async def post(server, room, author, texts):
    """`author` posts each text through the server's API, all at once."""
    headers = {"Authorization": f"Bearer {AccessToken.for_user(author)}"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def one(text):
            url = f"{server.url}/api/rooms/{room.id}/messages/"
            async with session.post(url, json={"text": text}) as response:
                assert response.status == 201

        await asyncio.gather(*(one(text) for text in texts))


async def test_every_message_is_printed_once_in_order_after_a_burst_and_a_gap(
    daphne, lobby, users, monkeypatch
):
    # Every frame counts as part of a burst here, so that a slow server cannot space them, and
    # the quiet check waits 3 s, so that the test can store the dropped messages before it.
    monkeypatch.setattr(follow_room, "BURST_GAP_S", 60)
    monkeypatch.setattr(follow_room, "QUIET_S", 3)
    await store_unbroadcast(lobby, users["carol"], ["Before"])
    burst, dropped = ["Burst 1", "Burst 2", "Burst 3"], ["Dropped 1", "Dropped 2"]
    missed = [f"Missed {n}" for n in range(1, 151)]  # more than a page of the API (100)
    printed = Printed()
    follower = Follower(daphne.url, lobby.id, users["bob"], printed.write, stop_after=157)
    following = asyncio.ensure_future(follower.follow())
    await printed.until("Before")

    # A burst's end: no later frame shows the gap, the quiet check after it fetches it.
    for text in burst:
        await post(daphne, lobby, users["alice"], [text])
    await printed.until("Burst 3")
    await store_unbroadcast(lobby, users["carol"], dropped)
    await printed.until("Dropped 2")

    # A gap: the next frame's previousId is newer than anything printed.
    await store_unbroadcast(lobby, users["carol"], missed)
    await post(daphne, lobby, users["alice"], ["After the gap"])
    await asyncio.wait_for(following, 15)

    assert printed.texts() == ["Before", *burst, *dropped, *missed, "After the gap"]


async def test_an_expired_token_is_renewed_and_nothing_is_missed(daphne, lobby, users, monkeypatch):
    monkeypatch.setattr(AccessToken, "lifetime", timedelta(seconds=2))
    printed = Printed()
    follower = Follower(daphne.url, lobby.id, users["bob"], printed.write, stop_after=2)
    following = asyncio.ensure_future(follower.follow())
    await post(daphne, lobby, users["alice"], ["Before it expires"])
    await printed.until("Before it expires")

    await printed.until_line("access token expired")  # the server closes with 4401 at 2 s
    await post(daphne, lobby, users["alice"], ["After the renewal"])
    await asyncio.wait_for(following, 15)

    assert printed.texts() == ["Before it expires", "After the renewal"]


async def test_it_reconnects_when_the_server_comes_back_and_catches_up(daphne, lobby, users):
    printed = Printed()
    follower = Follower(daphne.url, lobby.id, users["bob"], printed.write, stop_after=3)
    following = asyncio.ensure_future(follower.follow())
    await post(daphne, lobby, users["alice"], ["Before the restart"])
    await printed.until("Before the restart")

    await asyncio.to_thread(daphne.stop)
    await printed.until_line("disconnected")
    await store_unbroadcast(lobby, users["carol"], ["While it was away"])
    await asyncio.to_thread(daphne.start)  # on the same port
    await printed.until("While it was away")  # its catch-up on reconnecting
    await post(daphne, lobby, users["alice"], ["After the restart"])
    await asyncio.wait_for(following, 15)

    assert printed.texts() == ["Before the restart", "While it was away", "After the restart"]


async def test_a_room_the_user_is_not_in_is_refused(daphne, alice_and_bob, users):
    follower = Follower(daphne.url, alice_and_bob.id, users["carol"], print)

    with pytest.raises(CommandError, match="refused the socket"):
        await asyncio.wait_for(follower.follow(), 15)


def test_an_unknown_user_is_named(db):
    with pytest.raises(CommandError, match="No active user 'nobody'"):
        call_command("follow_room", "1", "nobody")
