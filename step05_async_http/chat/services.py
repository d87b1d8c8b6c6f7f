"""Saving a message: the one write path of the API and the socket (step01).

From step04 it only saves: `post_save` signals (`chat/signal_handlers.py`) broadcast the
message and its notifications once the transaction has committed.
"""

from django.db import transaction

from .models import Message, Notification


@transaction.atomic
def post_message(room, author, text):
    """Store `text` (already validated) from `author` in `room`, and notify the other members.

    One transaction: either the message and all its notifications are stored, or nothing is.
    """
    message = Message.objects.create(room=room, author=author, text=text)
    # One create() each, not bulk_create(): bulk_create sends no post_save, so the members'
    # sockets would never hear of their notifications.
    for member in room.members.exclude(pk=author.pk):
        Notification.objects.create(
            user=member, text=f"{author.username} wrote in {room.name}", room=room, message=message
        )
    return message
