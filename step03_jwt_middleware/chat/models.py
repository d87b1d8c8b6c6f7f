"""Rooms, messages and notifications: the data every step of the workshop shares (step01)."""

from django.conf import settings
from django.db import models

# One bound for the API, the admin and (from step02) the websocket: long enough for a chat
# message, short enough that nobody stores a novel through the demo.
MESSAGE_MAX_LENGTH = 2000


class Room(models.Model):
    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="rooms")

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.name

    def has_member(self, user):
        """A member is one of the room's members and an active user, as the database says now.

        Asked of the database, not of `user.is_active`: the user object in hand can be older
        than a deactivation (from step02, a socket keeps the one it loaded at its handshake).
        """
        return user.is_authenticated and self.members.filter(pk=user.pk, is_active=True).exists()


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages"
    )
    text = models.TextField(max_length=MESSAGE_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Ids only grow, so "oldest first" and "everything after id N" agree.
        ordering = ["id"]

    def __str__(self):
        return f"{self.author} in {self.room}: {self.text[:40]}"


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    text = models.CharField(max_length=255)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, null=True, blank=True)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, null=True, blank=True)
    is_read = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"to {self.user}: {self.text}"
