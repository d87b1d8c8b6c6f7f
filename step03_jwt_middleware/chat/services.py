"""Saving a message and telling the room: the one write path of the API and the socket (step01).

step02 adds the broadcast: a saved message goes to the room's group on the channel layer;
step03 sends each notification to its user's group too.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .models import Message, Notification
from .serializers import MessageDetailSerializer, NotificationSerializer


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


def room_group_name(room_id):
    """The channel-layer group of a room: every socket open on it has joined this group."""
    return f"room_{room_id}"


def message_event(message):
    """The group event for a saved message; `type` names the consumer handler that sends it.

    Its `previousId`, the room's message before it, lets a page see that a frame never came
    (a channel layer drops frames for a socket that lags too far behind) and fetch it.
    """
    data = dict(MessageDetailSerializer(message).data)
    data["previousId"] = previous_message_id(message)
    return {"type": "chat.message", "data": data}


def previous_message_id(message):
    """The id of the message before `message` in its room, or None for the room's first."""
    earlier = Message.objects.filter(room_id=message.room_id, pk__lt=message.pk)
    return earlier.order_by("-pk").values_list("pk", flat=True).first()


def send_message_to_room(message):
    """Broadcast a saved message to the sockets of its room, from sync code (the API view).

    step04 moves this call into a post_save signal, so that every save broadcasts.
    """
    async_to_sync(get_channel_layer().group_send)(
        room_group_name(message.room_id), message_event(message)
    )


def notification_group_name(user_id):
    """The channel-layer group of one user: every notification socket of theirs has joined it."""
    return f"notifications_{user_id}"


def notification_event(notification):
    """The group event for a stored notification, handled by `NotificationConsumer`."""
    return {"type": "chat.notification", "data": dict(NotificationSerializer(notification).data)}


def send_notifications(message):
    """Send each notification a saved message caused to its user's sockets, from sync code.

    Called once `post_message` has committed; step04 moves this call into a post_save signal.
    """
    group_send = async_to_sync(get_channel_layer().group_send)
    for notification in Notification.objects.filter(message=message):
        group_send(notification_group_name(notification.user_id), notification_event(notification))
