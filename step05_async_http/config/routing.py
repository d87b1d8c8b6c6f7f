"""WebSocket URLs: the `urlpatterns` of the consumers (step02; notifications from step03)."""

from django.urls import path

from chat.consumers import NotificationConsumer, RoomConversationConsumer

websocket_urlpatterns = [
    path("ws/conversations/<int:room_id>/", RoomConversationConsumer.as_asgi()),
    path("ws/notifications/", NotificationConsumer.as_asgi()),
]
