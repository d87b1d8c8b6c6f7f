"""The check of step04's exercise 1: deleting a room closes its members' sockets on it (4403).

`make exercise STEP=4 EX=1` copies it into the step's tests/ and runs it there, with the
step's fixtures (tests/conftest.py) and its socket helpers (tests/test_consumers.py).
"""

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from chat.helpers import room_group_name
from chat.services import post_message
from config.settings import channel_layers_from_env
from tests.test_consumers import open_notifications, open_socket

pytestmark = pytest.mark.django_db(transaction=True)

CLOSED_4403 = {"type": "websocket.close", "code": 4403}


@pytest.fixture(autouse=True)
def in_memory_layer(settings):
    """Channels' in-memory layer, whatever REDIS_URL says: the exercise is about the signals."""
    settings.CHANNEL_LAYERS = channel_layers_from_env({})


async def first_output_after(socket, room_id, who):
    """What `who` gets first once everything sent so far has arrived: a marker frame goes to
    the room's group last, so a socket still open gets the marker, a closed one its close."""
    marker = {"type": "channel_message", "message": {"type": "marker"}}
    await get_channel_layer().group_send(room_group_name(room_id), marker)
    try:
        return await socket.receive_output(timeout=5)
    except TimeoutError:
        pytest.fail(f"{who} got nothing at all within 5 s")


def delete(room):
    room.delete()


async def test_deleting_a_room_closes_the_sockets_on_it_with_4403(alice_and_bob, users):
    room_id = alice_and_bob.id
    alice = await open_socket(alice_and_bob, users["alice"])
    bob = await open_socket(alice_and_bob, users["bob"])

    await sync_to_async(delete)(alice_and_bob)

    for who, socket in [("alice", alice), ("bob", bob)]:
        output = await first_output_after(socket, room_id, f"{who}'s socket")
        assert output == CLOSED_4403, (
            f"{who}'s socket on the deleted room should be closed with 4403; it got {output}"
        )
        await socket.disconnect()


async def test_the_other_sockets_of_its_members_stay_open(lobby, alice_and_bob, users):
    bob_on_the_room = await open_socket(alice_and_bob, users["bob"])
    bob_in_the_lobby = await open_socket(lobby, users["bob"])
    bob_notifications = await open_notifications(users["bob"])

    await sync_to_async(delete)(alice_and_bob)
    await sync_to_async(post_message)(lobby, users["alice"], "still here?")

    frame = await bob_in_the_lobby.receive_json_from(timeout=5)
    assert frame["type"] == "message", f"bob's socket on the Lobby should stay open: {frame}"
    frame = await bob_notifications.receive_json_from(timeout=5)
    assert frame["type"] == "notification", f"bob's notifications should still come: {frame}"
    for socket in [bob_on_the_room, bob_in_the_lobby, bob_notifications]:
        await socket.disconnect()


async def test_a_rolled_back_delete_closes_nothing(alice_and_bob, users):
    room_id = alice_and_bob.id
    bob = await open_socket(alice_and_bob, users["bob"])

    def delete_then_roll_back():
        with pytest.raises(RuntimeError), transaction.atomic():
            alice_and_bob.delete()
            raise RuntimeError("changed my mind")

    await sync_to_async(delete_then_roll_back)()

    output = await first_output_after(bob, room_id, "bob's socket")
    assert output["type"] == "websocket.send", (
        f"the delete was rolled back, the room is still there, yet bob's socket got {output}: "
        "close the sockets once the delete commits"
    )
    await bob.disconnect()
