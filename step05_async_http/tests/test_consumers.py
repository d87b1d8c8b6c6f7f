"""The sockets against the full ASGI application, as a client meets them (step02 to step04).

Every test runs on each channel layer (see the `channel_layer` fixture) and talks to
`config.asgi.application`: Origin check, the JWT middleware, URL routing, the consumer.
"""

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken

from chat.models import MESSAGE_MAX_LENGTH, Message
from chat.services import post_message
from config.asgi import application

# A database shared with the consumer's threads needs real commits, not a test transaction.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("channel_layer")]

ORIGIN = b"http://127.0.0.1:8000"
# A handshake reads the database (and Redis) in threads: on a busy machine (make test runs
# suites side by side) it can take longer than WebsocketCommunicator's default of 1 s.
HANDSHAKE_SECONDS = 10


async def connect(path, user=None, origin=ORIGIN):
    """A communicator on `path` with `user`'s access token in `?token=` (None: no token)."""
    headers = [(b"origin", origin)] if origin else []
    query = f"?token={AccessToken.for_user(user)}" if user is not None else ""
    communicator = WebsocketCommunicator(application, path + query, headers=headers)
    communicator.connected, communicator.close_code = await communicator.connect(
        timeout=HANDSHAKE_SECONDS
    )
    return communicator


async def open_socket(room, user=None, origin=ORIGIN):
    """A communicator on the room's socket, as `user` (None: anonymous), already connected."""
    return await connect(f"/ws/conversations/{room.id}/", user, origin)


async def open_notifications(user):
    return await connect("/ws/notifications/", user)


async def send_message(socket, text):
    await socket.send_json_to({"type": "message", "text": text})


async def test_member_connects(lobby, users):
    alice = await open_socket(lobby, users["alice"])

    assert alice.connected
    await alice.disconnect()


async def test_anonymous_is_refused_at_handshake(lobby):
    anonymous = await open_socket(lobby)

    assert not anonymous.connected
    assert anonymous.close_code == 1000  # refused before accept(): Daphne answers HTTP 403


async def test_non_member_is_refused_at_handshake(alice_and_bob, users):
    carol = await open_socket(alice_and_bob, users["carol"])

    assert not carol.connected


async def test_unknown_room_is_refused_at_handshake(users):
    class Missing:
        id = 999

    alice = await open_socket(Missing, users["alice"])

    assert not alice.connected


async def test_foreign_origin_is_refused_at_handshake(lobby, users):
    alice = await open_socket(lobby, users["alice"], origin=b"http://evil.example")

    assert not alice.connected


async def test_missing_origin_is_refused_at_handshake(lobby, users):
    alice = await open_socket(lobby, users["alice"], origin=None)

    assert not alice.connected


async def test_message_reaches_every_member_once_and_is_stored_once(lobby, users):
    sockets = [await open_socket(lobby, users[name]) for name in ["alice", "bob", "carol"]]

    await send_message(sockets[0], "hello everyone")

    for socket in sockets:
        frame = await socket.receive_json_from(timeout=5)
        assert frame["type"] == "message"
        assert frame["data"]["text"] == "hello everyone"
        assert frame["data"]["author"] == "alice"
        assert frame["data"]["roomId"] == lobby.id
        assert set(frame["data"]) == {"id", "roomId", "author", "text", "createdAt", "previousId"}
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()
    assert await Message.objects.filter(text="hello everyone").acount() == 1


async def test_another_room_receives_nothing(lobby, alice_and_bob, users):
    alice = await open_socket(lobby, users["alice"])
    bob_elsewhere = await open_socket(alice_and_bob, users["bob"])

    await send_message(alice, "only for the Lobby")
    await alice.receive_json_from(timeout=5)

    assert await bob_elsewhere.receive_nothing(timeout=0.3)
    await alice.disconnect()
    await bob_elsewhere.disconnect()


async def test_message_posted_through_the_api_reaches_open_sockets(lobby, users, api_as):
    bob = await open_socket(lobby, users["bob"])
    api = api_as("alice")

    response = await sync_to_async(api.post)(
        f"/api/rooms/{lobby.id}/messages/", {"text": "from curl"}, format="json"
    )

    assert response.status_code == 201
    frame = await bob.receive_json_from(timeout=5)
    assert frame == {"type": "message", "data": {**response.json(), "previousId": None}}
    await bob.disconnect()


async def test_each_frame_names_the_rooms_message_before_it(lobby, alice_and_bob, users):
    # What lets a page see a gap: a frame whose previousId it has not shown (catch_up.js).
    alice = await open_socket(lobby, users["alice"])
    # bulk_create broadcasts nothing, in any step (it sends no post_save): stored only.
    await Message.objects.abulk_create(
        [
            Message(room=lobby, author=users["bob"], text="stored only"),
            Message(room=alice_and_bob, author=users["bob"], text="elsewhere"),
        ]
    )
    first = await Message.objects.aget(text="stored only")

    await send_message(alice, "after it")

    frame = await alice.receive_json_from(timeout=5)
    assert frame["data"]["text"] == "after it"
    assert frame["data"]["previousId"] == first.id  # the other room's message does not count
    await alice.disconnect()


# 100,000 levels of {"a": ...}: about 700 KB, under Daphne's 1 MiB frame limit. Python's
# json module refuses it with a RecursionError, where a malformed frame raises ValueError.
NESTED_TOO_DEEP = '{"a": ' * 100_000 + "1" + "}" * 100_000

BAD_FRAMES = {
    "not JSON": ("text", "{oops", "The frame cannot be decoded as JSON."),
    "nested too deep": ("text", NESTED_TOO_DEEP, "The frame cannot be decoded as JSON."),
    "not an object": ("text", json.dumps(["message", "hi"]), "A frame must be a JSON object"),
    "unknown type": ("text", json.dumps({"type": "shout", "text": "hi"}), "Unknown frame type"),
    "no type": ("text", json.dumps({"text": "hi"}), "Unknown frame type"),
    "missing text": ("text", json.dumps({"type": "message"}), "text: This field is required."),
    "empty text": ("text", json.dumps({"type": "message", "text": ""}), "may not be blank"),
    "blank text": ("text", json.dumps({"type": "message", "text": "  "}), "may not be blank"),
    "text not a string": ("text", json.dumps({"type": "message", "text": 7}), "Must be a string."),
    "over-long text": (
        "text",
        json.dumps({"type": "message", "text": "x" * (MESSAGE_MAX_LENGTH + 1)}),
        "no more than 2000 characters",
    ),
    "binary": ("bytes", b"\x00\x01", "Binary frames are not accepted"),
}


@pytest.mark.parametrize("kind, payload, error", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
async def test_bad_frame_gets_an_error_and_the_socket_lives_on(lobby, users, kind, payload, error):
    alice = await open_socket(lobby, users["alice"])

    await alice.send_input({"type": "websocket.receive", kind: payload})
    frame = await alice.receive_json_from(timeout=5)

    assert frame["type"] == "error"
    assert error in frame["error"]
    assert not await Message.objects.aexists()
    await send_message(alice, "still here")
    assert (await alice.receive_json_from(timeout=5))["data"]["text"] == "still here"
    await alice.disconnect()


# Against a real Daphne, which closes the socket of a consumer that raises with 1011 (internal
# error): a frame on which json raises RecursionError must get an error frame instead.
@pytest.mark.parametrize("channel_layer", ["memory"], indirect=True)
async def test_daphne_keeps_the_socket_open_after_a_frame_nested_too_deep(daphne, lobby, users):
    token = AccessToken.for_user(users["alice"])
    url = f"ws://127.0.0.1:{daphne.port}/ws/conversations/{lobby.id}/?token={token}"
    headers = {"Origin": daphne.url}

    # The timeout only stops a hung socket from stalling the suite.
    async with asyncio.timeout(30), websockets.connect(url, additional_headers=headers) as socket:
        await socket.send(NESTED_TOO_DEEP)
        error = json.loads(await socket.recv())
        await socket.send(json.dumps({"type": "message", "text": "still here"}))
        message = json.loads(await socket.recv())

    assert error == {"type": "error", "error": "The frame cannot be decoded as JSON."}
    assert message["data"]["text"] == "still here"


# How a member loses their access while their socket is open, by writes that send no
# signal, so that the socket stays open (test_revocation.py shows the signals closing it):
# each frame checks again.
async def removed_from_the_room(room, user):
    await room.members.through.objects.filter(room=room, user=user).adelete()


async def deactivated(room, user):
    await get_user_model().objects.filter(pk=user.pk).aupdate(is_active=False)


@pytest.mark.parametrize("lose_access", [removed_from_the_room, deactivated])
async def test_member_who_lost_access_after_connecting_can_no_longer_post(
    lose_access, lobby, users
):
    carol = await open_socket(lobby, users["carol"])
    await lose_access(lobby, users["carol"])

    await send_message(carol, "am I still here?")

    frame = await carol.receive_json_from(timeout=5)
    assert frame == {"type": "error", "error": "You are no longer a member of this room."}
    assert not await Message.objects.aexists()
    await carol.disconnect()


# The idle trap is Redis's (a socket timeout): the in-memory layer has nothing to test here.
@pytest.mark.parametrize("channel_layer", ["redis"], indirect=True)
async def test_idle_socket_still_receives_the_next_broadcast(lobby, users):
    bob = await open_socket(lobby, users["bob"])
    alice = await open_socket(lobby, users["alice"])

    # Idle for longer than redis-py 8's 5 s socket timeout, twice over: this sleep is the
    # behaviour under test, not a wait for an event.
    await asyncio.sleep(11)
    await send_message(alice, "are you still there?")

    assert (await bob.receive_json_from(timeout=5))["data"]["text"] == "are you still there?"
    await alice.disconnect()
    await bob.disconnect()


async def test_notification_socket_receives_its_users_notification(lobby, users):
    bob = await open_notifications(users["bob"])
    alice = await open_socket(lobby, users["alice"])

    await send_message(alice, "hello Lobby")

    frame = await bob.receive_json_from(timeout=5)
    assert frame["type"] == "notification"
    assert frame["data"]["text"] == "alice wrote in Lobby"
    assert frame["data"]["roomId"] == lobby.id
    assert set(frame["data"]) == {"id", "text", "roomId", "messageId", "createdAt", "isRead"}
    assert await bob.receive_nothing(timeout=0.3)
    await alice.disconnect()
    await bob.disconnect()


async def test_notification_socket_never_receives_another_users(alice_and_bob, lobby, users):
    carol = await open_notifications(users["carol"])
    bob = await open_notifications(users["bob"])
    alice_in_private = await open_socket(alice_and_bob, users["alice"])

    await send_message(alice_in_private, "only for bob")

    assert (await bob.receive_json_from(timeout=5))["data"]["text"] == "alice wrote in Alice & Bob"
    assert await carol.receive_nothing(timeout=0.3)  # not a member: nothing for her
    for socket in (alice_in_private, bob, carol):
        await socket.disconnect()


async def test_author_gets_no_notification_of_their_own_message(lobby, users):
    alice_notifications = await open_notifications(users["alice"])
    alice = await open_socket(lobby, users["alice"])

    await send_message(alice, "talking to myself?")
    await alice.receive_json_from(timeout=5)  # the message itself, on the room's socket

    assert await alice_notifications.receive_nothing(timeout=0.3)
    await alice.disconnect()
    await alice_notifications.disconnect()


async def test_notification_of_an_api_post_reaches_the_socket(lobby, users, api_as):
    bob = await open_notifications(users["bob"])

    response = await sync_to_async(api_as("carol").post)(
        f"/api/rooms/{lobby.id}/messages/", {"text": "from curl"}, format="json"
    )

    assert response.status_code == 201
    frame = await bob.receive_json_from(timeout=5)
    assert frame["data"]["messageId"] == response.json()["id"]
    assert frame["data"]["text"] == "carol wrote in Lobby"
    await bob.disconnect()


async def test_notification_socket_answers_any_frame_with_an_error(users):
    bob = await open_notifications(users["bob"])

    await bob.send_json_to({"type": "message", "text": "hello?"})

    frame = await bob.receive_json_from(timeout=5)
    assert frame == {
        "type": "error",
        "error": "This socket only sends notifications; it takes no frames.",
    }
    await bob.disconnect()


# The frames the base consumer refuses before its subclass reads them: the notification
# socket, which takes no frames at all, answers them with the same errors and lives on too.
UNREADABLE_FRAMES = ["not JSON", "nested too deep", "not an object", "binary"]


@pytest.mark.parametrize("name", UNREADABLE_FRAMES)
async def test_notification_socket_answers_an_unreadable_frame_and_lives_on(users, name):
    kind, payload, error = BAD_FRAMES[name]
    bob = await open_notifications(users["bob"])

    await bob.send_input({"type": "websocket.receive", kind: payload})
    frame = await bob.receive_json_from(timeout=5)

    assert frame["type"] == "error"
    assert error in frame["error"]
    await bob.send_json_to({"type": "message", "text": "still there?"})
    assert (await bob.receive_json_from(timeout=5))["error"].startswith("This socket only sends")
    await bob.disconnect()


async def test_every_notification_socket_of_a_user_receives_it(lobby, users):
    bob_laptop = await open_notifications(users["bob"])
    bob_phone = await open_notifications(users["bob"])

    message = await sync_to_async(post_message)(lobby, users["alice"], "hi bob")

    for socket in (bob_laptop, bob_phone):
        assert (await socket.receive_json_from(timeout=5))["data"]["messageId"] == message.id
        await socket.disconnect()
