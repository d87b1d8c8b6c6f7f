"""A group event that only forwards a frame skips Channels' database clean-up (step04).

`SkipsCleanupForGroupEvents` (chat/group_events.py): `channel_message` and `access_revoked`
go straight to their handlers; a handshake and a client's frame still clean up first.
"""

import pytest
from channels.layers import get_channel_layer

from chat.helpers import room_group_name
from tests.test_consumers import open_socket, send_message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("channel_layer")]


@pytest.fixture
def cleanups(monkeypatch):
    """How many times a consumer has run Channels' `aclose_old_connections()`."""
    calls = []

    async def counted():
        calls.append(1)

    monkeypatch.setattr("channels.consumer.aclose_old_connections", counted)
    return calls


async def test_a_broadcast_reaches_the_socket_without_a_cleanup(lobby, users, cleanups):
    alice = await open_socket(lobby, users["alice"])
    assert cleanups, "the handshake (websocket.connect) cleans up first"
    before = len(cleanups)

    event = {"type": "channel_message", "message": {"type": "message", "data": {"id": 1}}}
    await get_channel_layer().group_send(room_group_name(lobby.id), event)

    assert await alice.receive_json_from(timeout=5) == event["message"]
    assert len(cleanups) == before
    await alice.disconnect()


async def test_a_frame_from_the_client_still_cleans_up_before_it_saves(lobby, users, cleanups):
    alice = await open_socket(lobby, users["alice"])
    before = len(cleanups)

    await send_message(alice, "saved after a clean-up")

    frame = await alice.receive_json_from(timeout=5)
    assert frame["data"]["text"] == "saved after a clean-up"
    assert len(cleanups) == before + 1  # websocket.receive; the broadcast back added none
    await alice.disconnect()


async def test_a_revoked_member_is_closed_without_a_cleanup(lobby, users, cleanups):
    alice = await open_socket(lobby, users["alice"])
    before = len(cleanups)

    event = {"type": "access_revoked", "user_id": users["alice"].pk, "code": 4403}
    await get_channel_layer().group_send(room_group_name(lobby.id), event)

    assert await alice.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    assert len(cleanups) == before
