"""Signal receivers: every message and notification saved reaches its sockets (step04).

Connected in `ChatConfig.ready()`. Whatever saves the row (the API, a socket, the admin, the
shell, a management command), `post_save` runs, and the broadcast waits for the commit. The
same way, whoever loses access (removed from a room, deactivated, deleted, logged out) loses
their open sockets.
"""

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import m2m_changed, post_save, pre_delete
from django.dispatch import receiver

from .consumers import ACCESS_REVOKED, TOKEN_EXPIRED
from .helpers import (
    room_group_name,
    send_access_revoked,
    send_channel_notification,
    send_message_to_room,
    transaction_on_commit,
    user_group_names,
)
from .models import Message, Notification, Room


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


# Revocation: the receivers read who and where at once (a clear or a delete is about to remove
# the rows that say so); `send_access_revoked` waits for the commit.


@receiver(m2m_changed, sender=Room.members.through, dispatch_uid="revoke_removed_members")
def revoke_removed_members(sender, instance, action, reverse, pk_set, **kwargs):
    """m2m_changed of Room.members: a removed member's sockets on that room close (4403).

    remove(), set() and clear(), from either side: `reverse` means `user.rooms` changed, so
    `instance` is the user and `pk_set` holds rooms. post_clear has no `pk_set`: pre_clear
    reads who is about to go.
    """
    if action == "pre_clear":
        pk_set = set((instance.rooms if reverse else instance.members).values_list("pk", flat=True))
    elif action != "post_remove":
        return
    for pk in pk_set:
        user_id, room_id = (instance.pk, pk) if reverse else (pk, instance.pk)
        send_access_revoked(user_id, [room_group_name(room_id)], ACCESS_REVOKED)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="revoke_deactivated_user")
def revoke_deactivated_user(sender, instance, created, **kwargs):
    """post_save of a user who is no longer active: every socket of theirs closes (4403)."""
    if not created and not instance.is_active:
        send_access_revoked(instance.pk, user_group_names(instance), ACCESS_REVOKED)


@receiver(pre_delete, sender=settings.AUTH_USER_MODEL, dispatch_uid="revoke_deleted_user")
def revoke_deleted_user(sender, instance, **kwargs):
    """pre_delete of a user, while their rooms are still known: every socket closes (4403)."""
    send_access_revoked(instance.pk, user_group_names(instance), ACCESS_REVOKED)


@receiver(user_logged_out, dispatch_uid="close_sockets_at_logout")
def close_sockets_at_logout(sender, request, user, **kwargs):
    """user_logged_out: every socket of the user closes with 4401, "renew your token".

    A page whose session lives on (another browser) renews and reconnects; the tab whose
    session just ended cannot, and asks to log in again.
    """
    if user is not None:  # logging out without being logged in
        send_access_revoked(user.pk, user_group_names(user), TOKEN_EXPIRED)
