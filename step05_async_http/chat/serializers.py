"""DRF serializers: what the API (and, from step02, the websocket) reads and writes (step01).

Step03 adds the refresh endpoint's serializer (SIMPLE_JWT's TOKEN_REFRESH_SERIALIZER).
"""

from django.contrib.auth import get_user_model
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.serializers import TokenRefreshSerializer

from .models import MESSAGE_MAX_LENGTH, Message, Notification, Room


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers and booleans instead of quietly turning them into text."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class MessageCreateSerializer(serializers.Serializer):
    """The one validation of a new message's text: required, a string, 1 to 2,000 characters."""

    text = StrictCharField(max_length=MESSAGE_MAX_LENGTH, trim_whitespace=True)


class MessageDetailSerializer(serializers.ModelSerializer):
    roomId = serializers.IntegerField(source="room_id", read_only=True)
    author = serializers.CharField(source="author.username", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Message
        fields = ["id", "roomId", "author", "text", "createdAt"]


class NotificationSerializer(serializers.ModelSerializer):
    roomId = serializers.IntegerField(source="room_id", read_only=True)
    messageId = serializers.IntegerField(source="message_id", read_only=True)
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    isRead = serializers.BooleanField(source="is_read", read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "text", "roomId", "messageId", "createdAt", "isRead"]


class RoomSerializer(serializers.ModelSerializer):
    members = serializers.SlugRelatedField(many=True, read_only=True, slug_field="username")

    class Meta:
        model = Room
        fields = ["id", "name", "members"]


class ExistingUserTokenRefreshSerializer(TokenRefreshSerializer):
    """POST /api/token/refresh/: simplejwt's refresh, with a 401 for a deleted user.

    simplejwt 5.5.1 looks the token's user up with `objects.get` and lets `DoesNotExist`
    through: a refresh token that outlived its user would answer 500, which a client takes for
    a server to retry, not for a login to redo. An inactive user already gets this 401.
    """

    def validate(self, attrs):
        try:
            return super().validate(attrs)
        except get_user_model().DoesNotExist:
            raise AuthenticationFailed(
                self.error_messages["no_active_account"], "no_active_account"
            ) from None
