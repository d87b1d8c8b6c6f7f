"""The check of step04's exercise 2: `mark_all_read(user)` reaches the user's open sockets.

`make exercise STEP=4 EX=2` copies it into the step's tests/ and runs it there, with the
step's fixtures (tests/conftest.py) and its socket helpers (tests/test_consumers.py).
"""

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from chat import services
from chat.helpers import notification_group_name
from chat.models import Notification
from config.settings import channel_layers_from_env
from tests.test_consumers import open_notifications

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def in_memory_layer(settings):
    """Channels' in-memory layer, whatever REDIS_URL says: the exercise is about the signals."""
    settings.CHANNEL_LAYERS = channel_layers_from_env({})


@pytest.fixture
def mark_all_read():
    found = getattr(services, "mark_all_read", None)
    if found is None:
        pytest.fail("chat/services.py has no function mark_all_read(user) yet")
    return sync_to_async(found)


@sync_to_async
def bob_has_two_unread(lobby, users):
    """alice writes twice in the Lobby: bob (and carol) get two notifications; their ids."""
    services.post_message(lobby, users["alice"], "one")
    services.post_message(lobby, users["alice"], "two")
    return list(Notification.objects.filter(user=users["bob"]).values_list("pk", flat=True))


async def frames_until_marker(socket, user, who):
    """Every frame `who` receives before a marker, sent to the user's group last: what had
    reached the socket by then (every broadcast of the test comes before it)."""
    marker = {"type": "channel_message", "message": {"type": "marker"}}
    await get_channel_layer().group_send(notification_group_name(user.pk), marker)
    frames = []
    while True:
        try:
            frame = await socket.receive_json_from(timeout=5)
        except TimeoutError:
            pytest.fail(f"{who} got nothing more within 5 s")
        if frame == {"type": "marker"}:
            return frames
        frames.append(frame)


async def test_every_unread_notification_is_marked_read(lobby, users, mark_all_read):
    ids = await bob_has_two_unread(lobby, users)

    marked = await mark_all_read(users["bob"])

    unread = await Notification.objects.filter(user=users["bob"], is_read=False).acount()
    assert unread == 0, f"bob still has {unread} unread notifications"
    assert marked == len(ids), f"mark_all_read should return how many it marked (2), not {marked}"


async def test_the_socket_of_the_user_hears_each_notification_marked_read(
    lobby, users, mark_all_read
):
    ids = await bob_has_two_unread(lobby, users)
    bob = await open_notifications(users["bob"])

    await mark_all_read(users["bob"])

    frames = await frames_until_marker(bob, users["bob"], "bob's notification socket")
    heard = {frame["data"]["id"]: frame["data"]["isRead"] for frame in frames}
    assert heard == dict.fromkeys(ids, True), (
        "bob's socket should receive each of his notifications again, with isRead true, as "
        f'{{"type": "notification", "data": ...}}; it received {frames or "nothing"} '
        "(update() sends no post_save)"
    )
    await bob.disconnect()


async def test_a_notification_already_read_is_not_sent_again(lobby, users, mark_all_read):
    first, second = await bob_has_two_unread(lobby, users)
    await Notification.objects.filter(pk=first).aupdate(is_read=True)
    bob = await open_notifications(users["bob"])

    await mark_all_read(users["bob"])

    frames = await frames_until_marker(bob, users["bob"], "bob's notification socket")
    sent = [frame["data"]["id"] for frame in frames]
    assert sent == [second], f"only the unread one (id {second}) should be sent; sent: {sent}"
    await bob.disconnect()


async def test_the_other_users_hear_nothing(lobby, users, mark_all_read):
    await bob_has_two_unread(lobby, users)
    carol = await open_notifications(users["carol"])

    await mark_all_read(users["bob"])

    frames = await frames_until_marker(carol, users["carol"], "carol's notification socket")
    assert frames == [], f"carol's socket heard of bob's notifications: {frames}"
    await carol.disconnect()
