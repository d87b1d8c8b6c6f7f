"""WebSocket URLs: the `urlpatterns` of the consumers (step02)."""

from django.urls import path

from chat.consumers import RoomConversationConsumer

websocket_urlpatterns = [
    path("ws/conversations/<int:room_id>/", RoomConversationConsumer.as_asgi()),
]
