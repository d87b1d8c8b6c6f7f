"""Redis takes the chat past one process, and an outage loses nothing (step04).

Real Daphne processes started by the tests on loopback ports, a real Redis (the local one,
or the tests' own redis-server for the outage), and the `websockets` client a script uses.
"""

import asyncio
import json

import pytest
import requests
import websockets
from asgiref.sync import sync_to_async
from django.core.management import call_command
from rest_framework_simplejwt.tokens import AccessToken

from chat.helpers import room_group_name
from chat.layer_outage import LAYER_FAILED
from chat.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


def socket_url(server, path, user):
    return f"ws://127.0.0.1:{server.port}{path}?token={AccessToken.for_user(user)}"


def open_socket(server, room, user):
    """A client connection to `server`'s room socket, as a page opens it."""
    url = socket_url(server, f"/ws/conversations/{room.id}/", user)
    return websockets.connect(url, additional_headers={"Origin": server.url})


async def post_through(server, room, username, text):
    """POST the message to `server`'s API, as curl would; the HTTP status."""
    response = await asyncio.to_thread(
        requests.post,
        f"{server.url}/api/rooms/{room.id}/messages/",
        json={"text": text},
        auth=(username, "workshop"),
        timeout=10,
    )
    return response.status_code


async def receive_one_message(socket, text):
    """The socket receives the message `text`, then nothing more within half a second."""
    frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
    assert (frame["type"], frame["data"]["text"]) == ("message", text)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(socket.recv(), timeout=0.5)


async def test_message_posted_on_a_reaches_a_socket_on_b_once_also_after_idling(
    use_redis, start_daphne, lobby, users
):
    use_redis()
    server_a, server_b = start_daphne(), start_daphne()

    async with open_socket(server_b, lobby, users["bob"]) as bob:
        assert await post_through(server_a, lobby, "alice", "from A") == 201
        await receive_one_message(bob, "from A")

        # Idle for longer than redis-py 8's 5 s socket timeout, twice over: this sleep is the
        # behaviour under test, not a wait for an event.
        await asyncio.sleep(11)
        assert await post_through(server_a, lobby, "alice", "from A, later") == 201
        await receive_one_message(bob, "from A, later")


async def test_post_message_command_reaches_a_servers_socket_once(
    use_redis, start_daphne, lobby, users
):
    use_redis()
    server = start_daphne()

    async with open_socket(server, lobby, users["bob"]) as bob:
        # This test's process plays the terminal: another process than the server's.
        await sync_to_async(call_command)("post_message", "Lobby", "carol", "from a terminal")

        await receive_one_message(bob, "from a terminal")


async def reconnect(server, room, user, within=10):
    """Open the room's socket again, retrying as the page does until one stays open.

    Right after Redis returns, a handshake can still be accepted and then closed with 4503:
    a connection of the layer that Redis dropped fails on its first use, once. The close
    follows the accept at once, so a socket quiet for a second has stayed open.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            socket = await open_socket(server, room, user)
            frame = await asyncio.wait_for(socket.recv(), timeout=1)
        except TimeoutError:
            return socket  # open, and nothing came: live
        except (websockets.InvalidStatus, websockets.ConnectionClosed):
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"a frame nobody sent: {frame}")


async def test_redis_outage_loses_nothing_and_needs_no_restart(
    redis_server, use_redis, start_daphne, lobby, users, api_as, caplog
):
    use_redis(redis_server.url)
    server = start_daphne()

    async with open_socket(server, lobby, users["bob"]) as bob:
        redis_server.stop()
        # The server closes the socket so that the page reconnects and catches up.
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(bob.recv(), timeout=10)
    assert closed.value.rcvd.code == LAYER_FAILED

    response = await sync_to_async(api_as("alice").post)(
        f"/api/rooms/{lobby.id}/messages/", {"text": "during the outage"}, format="json"
    )

    assert response.status_code == 201
    assert await Message.objects.filter(text="during the outage").aexists()
    failed = [r for r in caplog.records if room_group_name(lobby.id) in r.getMessage()]
    assert len(failed) == 1  # one line for the room's broadcast...
    assert not any(record.exc_info for record in caplog.records)  # ...and no traceback

    redis_server.start()  # same port; the server was not restarted
    bob = await reconnect(server, lobby, users["bob"])
    assert await post_through(server, lobby, "alice", "after the outage") == 201
    await receive_one_message(bob, "after the outage")
    await bob.close()

    # What the page fetches when it reconnects: the message stored during the outage.
    caught_up = await sync_to_async(api_as("bob").get)(f"/api/rooms/{lobby.id}/messages/")
    texts = [message["text"] for message in caught_up.json()]
    assert texts == ["during the outage", "after the outage"]


async def test_handshake_while_redis_is_down_is_closed_with_4503_not_crashed(
    redis_server, use_redis, start_daphne, lobby, users
):
    use_redis(redis_server.url)
    server = start_daphne()
    redis_server.stop()

    async with open_socket(server, lobby, users["bob"]) as bob:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(bob.recv(), timeout=10)

    # Not a 500 (an exception in the application, a traceback in the log), nor a 403 ("you
    # may not"): accepted, then closed with 4503, so the page backs off and tries again.
    assert closed.value.rcvd.code == LAYER_FAILED


async def test_a_redis_restart_closes_every_open_socket_none_stays_deaf(
    redis_server, use_redis, start_daphne, lobby, users
):
    use_redis(redis_server.url)
    server = start_daphne()
    sockets = [await open_socket(server, lobby, users[name]) for name in ("alice", "bob", "carol")]

    # As fast as a restart can be: Redis comes back empty, with no group that a socket still
    # open would have joined. Every socket must notice, or it would wait in vain for messages.
    redis_server.stop()
    redis_server.start()

    for socket in sockets:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), timeout=10)
        assert closed.value.rcvd.code == LAYER_FAILED
