"""The data model: membership, ordering, and the one write path that notifies (step01)."""

import pytest
from django.contrib.auth import get_user_model

from chat.models import Message, Notification
from chat.services import post_message


def test_room_knows_its_members(alice_and_bob, users):
    assert alice_and_bob.has_member(users["alice"])
    assert not alice_and_bob.has_member(users["carol"])


def test_a_deactivated_user_is_no_member_even_through_a_stale_user_object(alice_and_bob, users):
    bob = users["bob"]  # loaded before the deactivation, as a socket's user is
    get_user_model().objects.filter(pk=bob.pk).update(is_active=False)

    assert bob.is_active  # the object in hand has not heard of it...
    assert not alice_and_bob.has_member(bob)  # ...the database has


def test_posting_notifies_every_other_member(lobby, users):
    message = post_message(lobby, users["alice"], "hello")

    notified = {n.user.username for n in Notification.objects.filter(message=message)}
    assert notified == {"bob", "carol"}
    assert Notification.objects.get(user=users["bob"]).text == "alice wrote in Lobby"


def test_messages_read_oldest_first(lobby, users):
    for text in ["one", "two", "three"]:
        post_message(lobby, users["alice"], text)

    assert [m.text for m in lobby.messages.all()] == ["one", "two", "three"]


def test_notifications_read_newest_first(lobby, users):
    post_message(lobby, users["alice"], "first")
    post_message(lobby, users["carol"], "second")

    texts = [n.text for n in users["bob"].notifications.all()]
    assert texts == ["carol wrote in Lobby", "alice wrote in Lobby"]


def test_a_failed_notification_leaves_no_message(lobby, users, monkeypatch):
    def broken_bulk_create(*args, **kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(Notification.objects, "bulk_create", broken_bulk_create)
    with pytest.raises(RuntimeError):
        post_message(lobby, users["alice"], "lost")

    assert not Message.objects.exists()
