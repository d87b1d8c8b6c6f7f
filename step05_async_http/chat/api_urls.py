"""URLs of the chat REST API, mounted under /api/ (step01; the token URLs from step03)."""

from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from . import api

urlpatterns = [
    path("rooms/", api.RoomListView.as_view(), name="api-rooms"),
    path("rooms/<int:room_id>/messages/", api.RoomMessagesView.as_view(), name="api-messages"),
    path("notifications/", api.NotificationListView.as_view(), name="api-notifications"),
    # simplejwt's own views, for scripts: username and password -> {access, refresh};
    # refresh -> {access} (with the serializer that SIMPLE_JWT in settings names).
    path("token/", TokenObtainPairView.as_view(), name="api-token"),
    path("token/refresh/", TokenRefreshView.as_view(), name="api-token-refresh"),
    # The page's: its session (and CSRF token) -> {access}, as often as it needs one.
    path("token/session/", api.SessionTokenView.as_view(), name="api-token-session"),
]
