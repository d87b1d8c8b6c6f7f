"""URLs of the chat REST API, mounted under /api/ (step01; the token URLs from step03)."""

from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from . import api

urlpatterns = [
    path("rooms/", api.RoomListView.as_view(), name="api-rooms"),
    path("rooms/<int:room_id>/messages/", api.RoomMessagesView.as_view(), name="api-messages"),
    path("notifications/", api.NotificationListView.as_view(), name="api-notifications"),
    # simplejwt's own views: username and password -> {access, refresh}; refresh -> {access}.
    path("token/", TokenObtainPairView.as_view(), name="api-token"),
    path("token/refresh/", TokenRefreshView.as_view(), name="api-token-refresh"),
    path("token/session/", api.SessionTokenView.as_view(), name="api-token-session"),
]
