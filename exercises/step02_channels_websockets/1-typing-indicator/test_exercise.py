"""The check of step02's exercise 1: `{"type": "typing"}` tells the room's other sockets.

`make exercise STEP=2 EX=1` copies it into the step's tests/ and runs it there, with the
step's fixtures (tests/conftest.py) and its socket helper (tests/test_consumers.py).
"""

import pytest

from chat.models import Message
from config.settings import channel_layers_from_env
from tests.test_consumers import open_socket

pytestmark = pytest.mark.django_db(transaction=True)

TYPING = {"type": "typing", "data": {"author": "alice"}}


@pytest.fixture(autouse=True)
def in_memory_layer(settings):
    """Channels' in-memory layer, whatever REDIS_URL says: the exercise is about the consumer."""
    settings.CHANNEL_LAYERS = channel_layers_from_env({})


async def typing_then_hello(socket):
    """The typist's frames: typing, then a message. The message reaches every socket of the
    room, so a socket's frames up to "hello" show what it heard of the typing, at once."""
    await socket.send_json_to({"type": "typing"})
    await socket.send_json_to({"type": "message", "text": "hello"})


async def frames_until_hello(socket, who):
    """Every frame `who` receives before the message "hello" (which is not included)."""
    frames = []
    while True:
        try:
            frame = await socket.receive_json_from(timeout=5)
        except TimeoutError:
            pytest.fail(f"{who} never received alice's message after her typing frame")
        if frame.get("type") == "message" and frame["data"]["text"] == "hello":
            return frames
        frames.append(frame)


async def test_the_other_members_hear_who_is_typing(lobby, users):
    alice, bob, carol = [await open_socket(lobby, users[n]) for n in ["alice", "bob", "carol"]]

    await typing_then_hello(alice)

    for name, socket in [("bob", bob), ("carol", carol)]:
        heard = await frames_until_hello(socket, name)
        assert heard == [TYPING], (
            f"before alice's message, {name} should receive one frame, "
            f'{{"type": "typing", "data": {{"author": "alice"}}}}; received {heard or "nothing"}'
        )
    for socket in [alice, bob, carol]:
        await socket.disconnect()


async def test_the_typist_does_not_hear_herself(lobby, users):
    alice, bob = [await open_socket(lobby, users[name]) for name in ["alice", "bob"]]

    await typing_then_hello(alice)

    heard = await frames_until_hello(alice, "alice")
    assert heard == [], (
        f"alice's own socket received {heard} for her typing frame: it is news to the others only"
    )
    for socket in [alice, bob]:
        await socket.disconnect()


async def test_another_room_hears_nothing(lobby, alice_and_bob, users):
    alice = await open_socket(lobby, users["alice"])
    bob_elsewhere = await open_socket(alice_and_bob, users["bob"])

    await typing_then_hello(alice)
    await frames_until_hello(alice, "alice")

    assert await bob_elsewhere.receive_nothing(timeout=0.3), (
        "bob's socket on another room heard about alice's typing in the Lobby"
    )
    for socket in [alice, bob_elsewhere]:
        await socket.disconnect()


async def test_typing_stores_nothing(lobby, users):
    alice = await open_socket(lobby, users["alice"])

    await typing_then_hello(alice)
    await frames_until_hello(alice, "alice")

    texts = [text async for text in Message.objects.values_list("text", flat=True)]
    assert texts == ["hello"], f"the room should hold alice's one message; it holds {texts}"
    await alice.disconnect()
