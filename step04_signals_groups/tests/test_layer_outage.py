"""A failing channel layer closes a socket with 4503, never with a traceback (step04).

`ClosesOnLayerOutage` (chat/layer_outage.py) on an in-memory layer that fails as a Redis layer
does when Redis is away (tests/test_redis.py meets the real thing): its join of a group at the
handshake, or its pending receive, raises a connection error.
"""

import asyncio
import functools

import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer

from chat.layer_outage import LAYER_FAILED
from tests.test_consumers import HANDSHAKE_SECONDS, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

OUTAGE = ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


class FailingLayer(InMemoryChannelLayer):
    """The in-memory layer until `fail(error)`: then its pending and later receives, and its
    joins of a group, raise `error`, as a Redis layer's do while Redis is away."""

    failure = None

    def fail(self, error):
        self.failure = error
        self.failing.set()

    @functools.cached_property
    def failing(self):
        return asyncio.Event()

    async def group_add(self, group, channel):
        if self.failure is not None:
            raise self.failure
        await super().group_add(group, channel)

    async def receive(self, channel):
        if self.failure is None:
            receiving = asyncio.ensure_future(super().receive(channel))
            failing = asyncio.ensure_future(self.failing.wait())
            await asyncio.wait({receiving, failing}, return_when=asyncio.FIRST_COMPLETED)
            failing.cancel()
            if receiving.done():
                return receiving.result()
            receiving.cancel()
        raise self.failure


@pytest.fixture
def layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.test_layer_outage.FailingLayer"}}
    return get_channel_layer()


async def assert_closed_for_the_layer(socket):
    frame = await socket.receive_output(timeout=HANDSHAKE_SECONDS)
    assert (frame["type"], frame["code"]) == ("websocket.close", LAYER_FAILED)


async def test_handshake_on_a_failing_layer_is_accepted_then_closed_with_4503(
    layer, lobby, users, caplog
):
    layer.fail(OUTAGE)

    bob = await open_socket(lobby, users["bob"])

    # Accepted (a refusal is HTTP 403, which a browser logs as an error), then 4503.
    assert bob.connected
    await assert_closed_for_the_layer(bob)
    assert "channel layer failed (ConnectionError: Error 111" in caplog.text
    assert not any(record.exc_info for record in caplog.records)


async def test_open_socket_is_closed_with_4503_when_its_layer_fails(layer, lobby, users, caplog):
    bob = await open_socket(lobby, users["bob"])
    assert bob.connected

    layer.fail(OUTAGE)

    await assert_closed_for_the_layer(bob)
    assert not any(record.exc_info for record in caplog.records)


async def test_any_other_error_is_not_taken_for_a_layer_failure(layer, lobby, users):
    bob = await open_socket(lobby, users["bob"])
    assert bob.connected

    layer.fail(RuntimeError("a bug in the application"))

    # The exception leaves the consumer (Daphne would log its traceback and close with 1011).
    # The communicator raises it once its wait for output is over: a short wait suffices.
    with pytest.raises(RuntimeError, match="a bug in the application"):
        await bob.receive_output(timeout=1)
