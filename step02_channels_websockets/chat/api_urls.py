"""URLs of the chat REST API, mounted under /api/ (step01)."""

from django.urls import path

from . import api

urlpatterns = [
    path("rooms/", api.RoomListView.as_view(), name="api-rooms"),
    path("rooms/<int:room_id>/messages/", api.RoomMessagesView.as_view(), name="api-messages"),
    path("notifications/", api.NotificationListView.as_view(), name="api-notifications"),
]
