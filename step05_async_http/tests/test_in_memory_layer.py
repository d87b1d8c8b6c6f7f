"""The in-memory layer of step04 (chat/in_memory_layer.py): a broadcast copies its event once,
and the layer looks for expired messages once a second, not before every receive; what has
expired still goes, and a full channel still misses what it has no room for."""

import time

import pytest
from channels.layers import InMemoryChannelLayer

from chat.in_memory_layer import CheapBroadcastInMemoryChannelLayer


@pytest.fixture
def clock(monkeypatch):
    """The layers' clock (time.time), moved on by hand: `clock.now += 61`."""

    class Clock:
        now = time.time()

    monkeypatch.setattr(time, "time", lambda: Clock.now)
    return Clock


@pytest.fixture
def walks(monkeypatch):
    """How many times a layer has walked its channels and groups for what has expired."""
    calls = []
    walk = InMemoryChannelLayer._clean_expired

    def counted(layer):
        calls.append(1)
        walk(layer)

    monkeypatch.setattr(InMemoryChannelLayer, "_clean_expired", counted)
    return calls


async def in_room(layer, sockets):
    """`sockets` new channels of `layer`, members of the group room_1."""
    channels = [await layer.new_channel() for _ in range(sockets)]
    for channel in channels:
        await layer.group_add("room_1", channel)
    return channels


async def broadcast_to(layer, sockets):
    channels = await in_room(layer, sockets)
    await layer.group_send("room_1", {"type": "channel_message", "message": {"id": 1}})
    return [await layer.receive(channel) for channel in channels]


async def test_a_broadcast_to_many_sockets_walks_the_layer_once(clock, walks):
    received = await broadcast_to(CheapBroadcastInMemoryChannelLayer(), 100)

    assert [event["message"] for event in received] == [{"id": 1}] * 100
    assert len(walks) == 1


async def test_channels_own_layer_walks_it_for_every_socket(clock, walks):
    await broadcast_to(InMemoryChannelLayer(), 100)

    assert len(walks) == 101  # the group_send, then each socket's receive


async def test_an_expired_message_still_takes_its_channel_out_of_its_groups(clock):
    layer = CheapBroadcastInMemoryChannelLayer(expiry=60)
    gone, listening = await in_room(layer, 2)
    await layer.send(gone, {"type": "channel_message", "message": "never read"})

    clock.now += 61
    await layer.group_send("room_1", {"type": "channel_message", "message": "later"})

    assert (await layer.receive(listening))["message"] == "later"
    assert gone not in layer.groups["room_1"]
    assert gone not in layer.channels  # its expired message dropped, the later one not sent


async def test_a_clock_that_went_back_does_not_stop_the_cleanup(clock):
    layer = CheapBroadcastInMemoryChannelLayer(expiry=60)
    await layer.group_send("room_1", {"type": "channel_message", "message": "cleans now"})
    clock.now -= 3600  # the machine's clock was put back an hour
    gone = await layer.new_channel()
    await layer.group_add("room_1", gone)
    await layer.send(gone, {"type": "channel_message", "message": "never read"})

    clock.now += 61
    await layer.group_send("room_1", {"type": "channel_message", "message": "later"})

    assert "room_1" not in layer.groups or gone not in layer.groups["room_1"]


async def test_a_broadcast_copies_its_event_once_for_every_socket(clock):
    event = {"type": "channel_message", "message": {"id": 1}}
    layer = CheapBroadcastInMemoryChannelLayer()
    channels = await in_room(layer, 3)

    await layer.group_send("room_1", event)
    event["message"]["id"] = 2  # the sender's dict, changed after the send

    received = [await layer.receive(channel) for channel in channels]
    assert [copy["message"] for copy in received] == [{"id": 1}] * 3
    assert received[0] is received[1] is received[2]  # one copy, as channels-redis per process


async def test_a_full_channel_misses_the_broadcast_and_the_others_get_it(clock):
    layer = CheapBroadcastInMemoryChannelLayer(capacity=1)
    behind, live = await in_room(layer, 2)
    await layer.send(behind, {"type": "channel_message", "message": "unread"})

    await layer.group_send("room_1", {"type": "channel_message", "message": "broadcast"})

    assert (await layer.receive(live))["message"] == "broadcast"
    assert (await layer.receive(behind))["message"] == "unread"
    assert behind not in layer.channels  # nothing more came for it
