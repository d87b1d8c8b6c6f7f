"""post_save signals broadcast every saved message and notification, after commit (step04).

Every test runs on each channel layer (the `channel_layer` fixture) and listens with real
sockets on the full ASGI application; the rows are written by each path a project has.
"""

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.management import call_command
from django.db import transaction
from django.db.models.signals import post_save
from django.test import Client

from chat.helpers import transaction_on_commit
from chat.models import Message, Notification
from chat.services import post_message
from tests.test_consumers import open_notifications, open_socket, send_message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("channel_layer")]


class RolledBack(Exception):
    pass


async def assert_one_message(socket, text):
    """The socket receives exactly one frame, the message `text`, and nothing after it."""
    frame = await socket.receive_json_from(timeout=5)
    assert frame["type"] == "message"
    assert frame["data"]["text"] == text
    assert await socket.receive_nothing(timeout=0.3)


async def test_rolled_back_message_sends_nothing(lobby, users):
    bob = await open_socket(lobby, users["bob"])

    def save_then_roll_back():
        with pytest.raises(RolledBack), transaction.atomic():
            Message.objects.create(room=lobby, author=users["alice"], text="never happened")
            raise RolledBack

    await sync_to_async(save_then_roll_back)()

    assert await bob.receive_nothing(timeout=0.5)
    assert not await Message.objects.aexists()
    await bob.disconnect()


async def test_committed_message_is_sent_once_and_only_after_the_commit(lobby, users):
    bob = await open_socket(lobby, users["bob"])
    heard_before_commit = []

    def save_in_a_transaction():
        with transaction.atomic():
            Message.objects.create(room=lobby, author=users["alice"], text="after commit")
            # Still inside the transaction: the socket must not have heard of the row yet.
            heard_before_commit.append(not async_to_sync(bob.receive_nothing)(timeout=0.5))

    # Not in the thread the consumers share for their database work (thread_sensitive): there
    # the transaction would hold up every consumer, and an early broadcast would go unseen.
    await sync_to_async(save_in_a_transaction, thread_sensitive=False)()

    assert heard_before_commit == [False]
    await assert_one_message(bob, "after commit")
    await bob.disconnect()


async def test_message_reaches_only_its_rooms_sockets(lobby, alice_and_bob, users):
    bob_in_lobby = await open_socket(lobby, users["bob"])
    bob_in_private = await open_socket(alice_and_bob, users["bob"])

    await sync_to_async(Message.objects.create)(room=lobby, author=users["carol"], text="lobby")

    await assert_one_message(bob_in_lobby, "lobby")
    assert await bob_in_private.receive_nothing(timeout=0.3)
    await bob_in_lobby.disconnect()
    await bob_in_private.disconnect()


async def test_notification_reaches_only_its_user(lobby, users):
    bob = await open_notifications(users["bob"])
    carol = await open_notifications(users["carol"])

    await sync_to_async(Notification.objects.create)(user=users["bob"], text="only bob")

    frame = await bob.receive_json_from(timeout=5)
    assert (frame["type"], frame["data"]["text"]) == ("notification", "only bob")
    assert await carol.receive_nothing(timeout=0.3)
    await bob.disconnect()
    await carol.disconnect()


async def test_an_edit_sends_nothing(lobby, users):
    message = await sync_to_async(Message.objects.create)(
        room=lobby, author=users["alice"], text="first draft"
    )
    bob = await open_socket(lobby, users["bob"])

    message.text = "second draft"
    await sync_to_async(message.save)()

    assert await bob.receive_nothing(timeout=0.5)  # created rows only
    await bob.disconnect()


# Each write path reaches an open socket exactly once.


async def test_api_post_reaches_the_socket_once(lobby, users, api_as):
    bob = await open_socket(lobby, users["bob"])

    response = await sync_to_async(api_as("alice").post)(
        f"/api/rooms/{lobby.id}/messages/", {"text": "by the API"}, format="json"
    )

    assert response.status_code == 201
    await assert_one_message(bob, "by the API")
    await bob.disconnect()


async def test_socket_frame_reaches_every_socket_once(lobby, users):
    alice = await open_socket(lobby, users["alice"])
    bob = await open_socket(lobby, users["bob"])

    await send_message(alice, "by the socket")

    await assert_one_message(alice, "by the socket")
    await assert_one_message(bob, "by the socket")
    await alice.disconnect()
    await bob.disconnect()


async def test_plain_orm_save_reaches_the_socket_once(lobby, users):
    bob = await open_socket(lobby, users["bob"])

    await sync_to_async(Message.objects.create)(room=lobby, author=users["alice"], text="by ORM")

    await assert_one_message(bob, "by ORM")
    await bob.disconnect()


async def test_admin_save_reaches_the_socket_once(lobby, users):
    bob = await open_socket(lobby, users["bob"])

    def add_in_the_admin():
        users["alice"].is_staff = users["alice"].is_superuser = True
        users["alice"].save()
        client = Client()
        client.force_login(users["alice"])
        form = {"room": lobby.id, "author": users["alice"].id, "text": "by the admin"}
        return client.post("/admin/chat/message/add/", form)

    response = await sync_to_async(add_in_the_admin)()

    assert response.status_code == 302  # saved, back to the list
    await assert_one_message(bob, "by the admin")
    await bob.disconnect()


async def test_management_command_reaches_the_socket_once(lobby, users):
    bob = await open_socket(lobby, users["bob"])
    bob_notifications = await open_notifications(users["bob"])

    await sync_to_async(call_command)("post_message", "Lobby", "carol", "by the command")

    await assert_one_message(bob, "by the command")
    frame = await bob_notifications.receive_json_from(timeout=5)
    assert frame["data"]["text"] == "carol wrote in Lobby"
    await bob.disconnect()
    await bob_notifications.disconnect()


async def test_bulk_create_sends_nothing(lobby, users):
    # The cost of signals: bulk_create(), update() and raw SQL send no post_save.
    bob = await open_socket(lobby, users["bob"])

    await sync_to_async(Message.objects.bulk_create)(
        [Message(room=lobby, author=users["alice"], text="silent")]
    )

    assert await bob.receive_nothing(timeout=0.5)
    await bob.disconnect()


async def test_a_failing_receiver_is_logged_and_the_save_stands(lobby, users, caplog):
    @transaction_on_commit
    def broken_receiver(sender, instance, created, **kwargs):
        raise RuntimeError("a receiver with a bug")

    post_save.connect(broken_receiver, sender=Message, dispatch_uid="broken-receiver-test")
    try:
        await sync_to_async(post_message)(lobby, users["alice"], "stored anyway")
    finally:
        post_save.disconnect(sender=Message, dispatch_uid="broken-receiver-test")

    assert await Message.objects.filter(text="stored anyway").aexists()
    logged = [r for r in caplog.records if "broken_receiver" in r.getMessage()]
    assert logged and "a receiver with a bug" in str(logged[0].exc_info[1])
