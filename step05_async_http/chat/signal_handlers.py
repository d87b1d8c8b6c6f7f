"""Signal receivers: every message and notification saved reaches its sockets (step04).

Connected in `ChatConfig.ready()`. Whatever saves the row (the API, a socket, the admin, the
shell, a management command), `post_save` runs, and the broadcast waits for the commit.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from .helpers import send_channel_notification, send_message_to_room, transaction_on_commit
from .models import Message, Notification


@receiver(post_save, sender=Message, dispatch_uid="broadcast_message")
@transaction_on_commit
def broadcast_message(sender, instance, created, **kwargs):
    """post_save of a Message: a new one goes to its room's sockets, once committed."""
    if created:
        send_message_to_room(instance.room_id, instance)


@receiver(post_save, sender=Notification, dispatch_uid="broadcast_notification")
@transaction_on_commit
def broadcast_notification(sender, instance, created, **kwargs):
    """post_save of a Notification: a new one goes to its user's sockets, once committed."""
    if created:
        send_channel_notification(instance.user, instance)
