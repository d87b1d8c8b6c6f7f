"""DRF serializers: what the API (and, from step02, the websocket) reads and writes (step01)."""

from rest_framework import serializers

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
