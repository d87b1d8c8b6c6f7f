"""A socket is accepted, and stays open, only while the channel layer carries messages (step04).

`LayerWatch` (chat/consumers.py) sends a probe to its own channel at each handshake and once a
second while sockets are open. These tests give it an in-memory layer with the troubles a
Redis layer has (tests/test_redis.py meets them on a real Redis): one that takes messages and
delivers none, and one whose first subscribe fails as channels-redis' Pub/Sub layer does once
right after Redis returns.
"""

import asyncio

import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer

from chat.consumers import LAYER_FAILED, LayerWatch
from tests.test_consumers import HANDSHAKE_SECONDS, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

# What asyncio raises when two tasks read one connection: channels-redis 4.3's Pub/Sub layer,
# its receiving task and a handshake's subscribe, right after Redis returns.
TWO_READERS = "readuntil() called while another coroutine is already waiting for incoming data"


class TroubledLayer(InMemoryChannelLayer):
    """The in-memory layer, with a Redis layer's troubles for a test to switch on."""

    deaf = False  # takes every message and delivers none
    subscribe_error = None  # an exception the next new_channel() raises, once
    send_error = None  # an exception the next send() raises, once

    async def send(self, channel, message):
        if self.send_error is not None:
            error, self.send_error = self.send_error, None
            raise error
        if not self.deaf:
            await super().send(channel, message)

    async def new_channel(self, prefix="specific."):
        if self.subscribe_error is not None:
            error, self.subscribe_error = self.subscribe_error, None
            raise error
        return await super().new_channel(prefix)


@pytest.fixture
def layer(settings, monkeypatch):
    """This test's TroubledLayer, with a watch that gives up on a probe after half a second."""
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.test_layer_watch.TroubledLayer"}}
    monkeypatch.setattr(LayerWatch, "interval", 0.2)
    monkeypatch.setattr(LayerWatch, "timeout", 0.5)
    return get_channel_layer()


async def assert_closed_for_the_layer(socket):
    """Accepted (a browser logs no error), then closed with 4503 (the page comes back later)."""
    assert socket.connected
    frame = await socket.receive_output(timeout=HANDSHAKE_SECONDS)
    assert (frame["type"], frame["code"]) == ("websocket.close", LAYER_FAILED)


async def test_handshake_on_a_layer_that_loses_the_probe_is_closed_with_4503(
    layer, lobby, users, caplog
):
    layer.deaf = True

    bob = await open_socket(lobby, users["bob"])

    await assert_closed_for_the_layer(bob)
    assert "LayerSilent: a probe did not come back within 0.5 s" in caplog.text
    assert not any(record.exc_info for record in caplog.records)


async def test_open_socket_is_closed_with_4503_when_its_layer_stops_delivering(
    layer, lobby, users, caplog
):
    bob = await open_socket(lobby, users["bob"])
    assert bob.connected
    assert await bob.receive_nothing(timeout=0.5)  # probes come back: the socket stays

    layer.deaf = True

    frame = await bob.receive_output(timeout=HANDSHAKE_SECONDS)
    assert (frame["type"], frame["code"]) == ("websocket.close", LAYER_FAILED)
    assert "LayerSilent" in caplog.text


async def test_two_readers_race_of_the_pubsub_layer_closes_with_4503_without_a_traceback(
    layer, lobby, users, caplog
):
    layer.subscribe_error = RuntimeError(TWO_READERS)

    bob = await open_socket(lobby, users["bob"])

    await assert_closed_for_the_layer(bob)
    assert f"RuntimeError: {TWO_READERS}" in caplog.text
    assert not any(record.exc_info for record in caplog.records)
    # The next attempt, as the page makes it, is accepted and stays.
    bob = await open_socket(lobby, users["bob"])
    assert bob.connected
    assert await bob.receive_nothing(timeout=0.5)
    await bob.disconnect()


async def test_two_readers_race_while_a_socket_is_open_closes_it_with_4503(
    layer, lobby, users, caplog
):
    bob = await open_socket(lobby, users["bob"])
    assert bob.connected

    layer.send_error = RuntimeError(TWO_READERS)  # the watch's next probe meets it

    frame = await bob.receive_output(timeout=HANDSHAKE_SECONDS)
    assert (frame["type"], frame["code"]) == ("websocket.close", LAYER_FAILED)
    assert not any(record.exc_info for record in caplog.records)


async def test_any_other_runtime_error_is_not_taken_for_a_layer_failure(layer, lobby, users):
    layer.subscribe_error = RuntimeError("a bug in the application")

    with pytest.raises(RuntimeError, match="a bug in the application"):
        await open_socket(lobby, users["bob"])


async def test_watch_stops_reading_when_the_last_socket_closes(layer, lobby, users):
    bob = await open_socket(lobby, users["bob"])
    watch = LayerWatch.of(layer)
    assert watch.consumers and watch.listener is not None

    await bob.disconnect()
    await asyncio.wait_for(LayerWatch.finished(), timeout=HANDSHAKE_SECONDS)

    assert not watch.consumers
    assert watch.listener is None and watch.channel is None
