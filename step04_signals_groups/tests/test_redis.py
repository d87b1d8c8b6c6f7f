"""Redis takes the chat past one process, and an outage loses nothing (step04).

Real Daphne processes started by the tests on loopback ports, a real Redis (the local one,
or the tests' own redis-server for the outage, or a `black_hole` for a Redis that hangs), and
the `websockets` client a script uses.
"""

import asyncio
import json

import pytest
import requests
import websockets
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.core.management import call_command
from rest_framework_simplejwt.tokens import AccessToken

from chat.helpers import room_group_name
from chat.layer_outage import LAYER_FAILED
from chat.models import Message
from config.settings import channel_layers_from_env

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


# A hung Redis: it accepts connections and never answers. Every wait on it is bounded, by
# `BoundedRedisChannelLayer` (chat/layer_outage.py) and, for connecting, config/settings.py.


def use_hung_redis(settings, black_hole):
    """This process's channel layer (and so the next Daphne's) on the black hole. Not with
    `use_redis`, which first checks that Redis answers."""
    settings.CHANNEL_LAYERS = channel_layers_from_env({"REDIS_URL": black_hole.url})


async def test_post_while_redis_hangs_answers_201_stored_and_the_api_answers_meanwhile(
    black_hole, settings, start_daphne, alice_and_bob
):
    use_hung_redis(settings, black_hole)
    server = start_daphne()

    # Its client's 10 s timeout is the bound: the message and bob's notification, two
    # broadcasts, each given up on after 2 s.
    posting = asyncio.create_task(post_through(server, alice_and_bob, "alice", "into the void"))
    # Once the first broadcast waits in the black hole, bob reads the room: stored already.
    assert await asyncio.to_thread(black_hole.swallowed.wait, 10)
    response = await asyncio.to_thread(
        requests.get,
        f"{server.url}/api/rooms/{alice_and_bob.id}/messages/",
        auth=("bob", "workshop"),
        timeout=10,
    )
    assert response.status_code == 200
    assert [message["text"] for message in response.json()] == ["into the void"]

    assert await posting == 201
    assert await Message.objects.filter(text="into the void").aexists()


async def test_broadcast_to_a_hung_redis_gives_up_with_one_log_line_and_frees_its_thread(
    black_hole, settings, alice_and_bob, users, caplog
):
    use_hung_redis(settings, black_hole)

    # Saved as a socket's frame is, in the thread that every `database_sync_to_async` call
    # of the process shares: the broadcast runs there, on commit. The 5 s are the test's
    # bound on that thread, not a measurement.
    save = database_sync_to_async(Message.objects.create)
    await asyncio.wait_for(
        save(room=alice_and_bob, author=users["alice"], text="into the void"), timeout=5
    )

    assert await Message.objects.filter(text="into the void").aexists()
    failed = [r for r in caplog.records if room_group_name(alice_and_bob.id) in r.getMessage()]
    assert len(failed) == 1
    assert "TimeoutError" in failed[0].getMessage()
    assert not any(record.exc_info for record in caplog.records)


async def test_every_open_socket_is_closed_with_4503_when_redis_hangs(
    redis_server, black_hole, use_redis, start_daphne, lobby, users
):
    # Three sockets connect while Redis answers through the black hole, which then swallows
    # everything both ways.
    black_hole.relay_to(redis_server.port)
    use_redis(black_hole.url)
    server = start_daphne()
    sockets = [await open_socket(server, lobby, users[name]) for name in ("alice", "bob", "carol")]
    black_hole.swallow()

    # The server waits for the three through one BZPOPMIN, given up on after 10 s: alone,
    # that would close one socket, and each of the others, waiting its turn, 10 s later.
    # 20 s for all three is the test's bound, not a measurement.
    async def close_code(socket):
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await socket.recv()
        return closed.value.rcvd.code

    codes = await asyncio.wait_for(asyncio.gather(*map(close_code, sockets)), timeout=20)
    assert codes == [LAYER_FAILED] * 3


async def test_handshake_while_redis_hangs_is_closed_with_4503_not_dropped(
    black_hole, settings, start_daphne, lobby, users
):
    use_hung_redis(settings, black_hole)
    server = start_daphne()

    async with open_socket(server, lobby, users["bob"]) as bob:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(bob.recv(), timeout=10)

    # Its join of the room's group gives up after 2 s: before Daphne's 5 s for a handshake,
    # which would drop the connection with no close code (an error in the browser's console).
    assert closed.value.rcvd.code == LAYER_FAILED
