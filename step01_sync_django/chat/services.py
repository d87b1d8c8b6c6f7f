"""Saving a message and notifying the room: the one write path the API uses (step01)."""

from django.db import transaction

from .models import Message, Notification


@transaction.atomic
def post_message(room, author, text):
    """Store `text` (already validated) from `author` in `room`, and notify the other members.

    One transaction: either the message and all its notifications are stored, or nothing is.
    """
    message = Message.objects.create(room=room, author=author, text=text)
    Notification.objects.bulk_create(
        Notification(
            user=member,
            text=f"{author.username} wrote in {room.name}",
            room=room,
            message=message,
        )
        for member in room.members.exclude(pk=author.pk)
    )
    return message
