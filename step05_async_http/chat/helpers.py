"""The talk's helpers: send to a group from sync code, defer a receiver until commit (step04).

Signal receivers (`chat/signal_handlers.py`) are their only callers: the views and the
consumers save, and never broadcast themselves.
"""

import functools
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from .layer_outage import LAYER_ERRORS
from .models import Message
from .serializers import MessageDetailSerializer, NotificationSerializer

logger = logging.getLogger(__name__)


def room_group_name(room_id):
    """The group of a room: every socket open on it has joined this group."""
    return f"room_{room_id}"


def notification_group_name(user_id):
    """The group of one user: every notification socket of theirs has joined it."""
    return f"notifications_{user_id}"


def send_channel_message(group_name, message):
    """Send `message`, a frame for the clients, to every socket of a group, from sync code.

    The event's type, `channel_message`, names the consumers' one handler, which forwards the
    message as it is. A channel layer that is down costs one log line, never the save: the
    row is stored already, and the pages catch up when they reconnect.
    """
    event = {"type": "channel_message", "message": message}
    try:
        async_to_sync(get_channel_layer().group_send)(group_name, event)
    except LAYER_ERRORS as error:
        logger.warning(
            "Broadcast to group %s failed, the row is stored: %s: %s",
            group_name,
            type(error).__name__,
            error,
        )


def send_message_to_room(room_id, message):
    """A saved Message to its room's sockets, as the frame `{"type": "message", ...}`; its
    `previousId` lets a page see that a frame never came (a layer drops them) and fetch it."""
    data = dict(MessageDetailSerializer(message).data)
    data["previousId"] = previous_message_id(message)
    send_channel_message(room_group_name(room_id), {"type": "message", "data": data})


def previous_message_id(message):
    """The id of the message before `message` in its room, or None for the room's first."""
    earlier = Message.objects.filter(room_id=message.room_id, pk__lt=message.pk)
    return earlier.order_by("-pk").values_list("pk", flat=True).first()


def send_channel_notification(user, notification):
    """A saved Notification to its user's sockets, as `{"type": "notification", ...}`."""
    data = dict(NotificationSerializer(notification).data)
    send_channel_message(notification_group_name(user.pk), {"type": "notification", "data": data})


def transaction_on_commit(receiver):
    """Defer the decorated signal receiver (or helper) until the current transaction commits.

    A save that is rolled back then sends nothing, and no client hears of a row that it
    cannot read yet. Outside a transaction it runs at once. `robust=True`: an exception in
    the receiver is logged instead of reaching the code that committed.
    """

    @functools.wraps(receiver)
    def deferred(*args, **kwargs):
        # Named like the receiver: Django's log line for a failing robust callback reads its
        # __qualname__, which a bare partial lacks (Django ticket #36487, after 5.2.19).
        callback = functools.update_wrapper(functools.partial(receiver, *args, **kwargs), receiver)
        transaction.on_commit(callback, robust=True)

    return deferred


def user_group_names(user):
    """Every group a user's sockets can have joined: their rooms' and their notifications'.

    Read at once, in the caller's transaction: a delete is about to remove the rows.
    """
    room_ids = user.rooms.values_list("pk", flat=True)
    return [room_group_name(room_id) for room_id in room_ids] + [notification_group_name(user.pk)]


@transaction_on_commit
def send_access_revoked(user_id, group_names, code):
    """Once committed, close the sockets of `user_id` in these groups with `code`.

    The event's type, `access_revoked`, names the consumers' handler, which closes its socket
    only if the event's user is its own: the other sockets of the groups stay open. A channel
    layer that fails costs one log line and ends the sending: its failure closes every socket
    anyway (4503), and the reconnect's handshake checks again.
    """
    event = {"type": "access_revoked", "user_id": user_id, "code": code}
    group_send = async_to_sync(get_channel_layer().group_send)
    try:
        for group_name in group_names:
            group_send(group_name, event)
    except LAYER_ERRORS as error:
        logger.warning(
            "Closing the sockets of user %s failed at group %s: %s: %s",
            user_id,
            group_name,
            type(error).__name__,
            error,
        )
