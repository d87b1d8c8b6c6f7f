"""The check of step03's exercise 1: a middleware closes a flooding socket with 4429.

`make exercise STEP=3 EX=1` copies it into the step's tests/ and runs it there, with the
step's fixtures (tests/conftest.py) and its socket helper (tests/test_consumers.py). The
sockets go through `config.asgi.application`, so the middleware must be wired in there.
"""

import json

import pytest

from chat.models import Message
from config.settings import channel_layers_from_env
from tests.test_consumers import open_socket

pytestmark = pytest.mark.django_db(transaction=True)

LIMIT = 10  # frames in any 10 seconds; the test sends its frames at once


@pytest.fixture(autouse=True)
def in_memory_layer(settings):
    """Channels' in-memory layer, whatever REDIS_URL says: the exercise is about the sockets."""
    settings.CHANNEL_LAYERS = channel_layers_from_env({})


async def send_messages(socket, count, prefix="frame"):
    for n in range(1, count + 1):
        await socket.send_json_to({"type": "message", "text": f"{prefix} {n}"})


async def outputs_until(socket, who, messages=None, text=None):
    """What `who` gets until the server closes it, or `messages` message frames have come, or
    the message `text` has: (the texts received, the close code or None)."""
    texts = []
    while messages is None or len(texts) < messages:
        try:
            output = await socket.receive_output(timeout=5)
        except TimeoutError:
            pytest.fail(f"{who} got {len(texts)} messages back and then nothing for 5 s")
        if output["type"] == "websocket.close":
            return texts, output.get("code")
        frame = json.loads(output["text"])
        if frame.get("type") == "message":
            texts.append(frame["data"]["text"])
            if frame["data"]["text"] == text:
                break
    return texts, None


async def test_ten_frames_in_a_row_are_all_handled(lobby, users):
    alice = await open_socket(lobby, users["alice"])

    await send_messages(alice, LIMIT)

    texts, code = await outputs_until(alice, "alice", LIMIT)
    assert code is None, f"the socket was closed with {code} after {len(texts)} of 10 frames"
    await alice.disconnect()


async def test_the_eleventh_frame_closes_the_socket_with_4429(lobby, users):
    alice = await open_socket(lobby, users["alice"])

    await send_messages(alice, LIMIT + 1)

    texts, code = await outputs_until(alice, "alice", LIMIT + 1)
    assert code is not None, (
        "alice sent 11 frames at once and the socket stayed open: all 11 were handled"
    )
    assert code == 4429, f"the socket was closed with code {code}; it should be 4429"
    await alice.disconnect()


async def test_the_frame_over_the_limit_is_not_stored(lobby, users):
    alice = await open_socket(lobby, users["alice"])

    await send_messages(alice, LIMIT + 1)
    await outputs_until(alice, "alice", LIMIT + 1)
    await alice.disconnect()  # what the server does after a close: the consumer ends

    stored = await Message.objects.acount()
    assert stored == LIMIT, (
        f"{stored} messages were stored for 11 frames: the frame over the limit must never "
        "reach the consumer"
    )


async def test_each_socket_has_a_limit_of_its_own(lobby, users):
    first = await open_socket(lobby, users["alice"])
    second = await open_socket(lobby, users["alice"])

    await send_messages(first, 6, "first")
    await send_messages(second, 6, "second")

    for who, socket in [("alice's first socket", first), ("alice's second socket", second)]:
        texts, code = await outputs_until(socket, who, 12)
        assert code is None, (
            f"{who} was closed ({code}) after 6 frames of its own: count each socket's "
            "frames apart (the middleware's __call__ runs once per connection)"
        )
    await first.disconnect()
    await second.disconnect()


async def test_a_flood_leaves_the_other_sockets_open(lobby, users):
    alice = await open_socket(lobby, users["alice"])
    bob = await open_socket(lobby, users["bob"])

    await send_messages(alice, LIMIT + 1)
    await outputs_until(alice, "alice", LIMIT + 1)
    await bob.send_json_to({"type": "message", "text": "bob is still here"})

    # bob hears alice's messages first (ten, or eleven without a limit), then his own.
    texts, code = await outputs_until(bob, "bob", text="bob is still here")
    assert code is None, f"bob's socket was closed ({code}) because alice flooded hers"
    assert "bob is still here" in texts, f"bob's own message never came back: {texts}"
    await alice.disconnect()
    await bob.disconnect()
