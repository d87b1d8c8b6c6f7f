"""The REST API of the chat (step01): rooms, their messages, the caller's notifications.

Authentication (session, HTTP Basic, from step03 a JWT) and "logged in only" come from
REST_FRAMEWORK in settings; step03 adds the page's token endpoint.
"""

from django.shortcuts import get_object_or_404
from rest_framework import generics, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import AccessToken

from .models import Room
from .serializers import (
    MessageCreateSerializer,
    MessageDetailSerializer,
    NotificationSerializer,
    RoomSerializer,
)
from .services import post_message

# A page of history: enough for a chat window, bounded so a long room stays cheap to poll.
MESSAGES_PAGE_SIZE = 100
NOTIFICATIONS_PAGE_SIZE = 50


class RoomListView(generics.ListAPIView):
    """GET /api/rooms/: the rooms the caller belongs to."""

    serializer_class = RoomSerializer

    def get_queryset(self):
        return self.request.user.rooms.prefetch_related("members")


class RoomMessagesView(generics.GenericAPIView):
    """GET and POST /api/rooms/<id>/messages/: read (oldest first) and write, members only."""

    def get_room(self):
        room = get_object_or_404(Room, pk=self.kwargs["room_id"])
        if not room.has_member(self.request.user):
            raise PermissionDenied("You are not a member of this room.")
        return room

    def get(self, request, room_id):
        """Messages oldest first: the newest page, or with `?after=<id>` those written after it."""
        messages = self.get_room().messages.select_related("author")
        after = request.query_params.get("after")
        if after is None:
            # The newest page, then put back in reading order.
            page = list(messages.order_by("-id")[:MESSAGES_PAGE_SIZE])[::-1]
        elif after.isascii() and after.isdigit():  # "²" is a digit to isdigit(), not to int()
            page = messages.filter(pk__gt=int(after))[:MESSAGES_PAGE_SIZE]
        else:
            raise ValidationError({"after": "Must be a message id (a whole number)."})
        return Response(MessageDetailSerializer(page, many=True).data)

    def post(self, request, room_id):
        """Store a message from the caller and notify the other members (signals broadcast)."""
        room = self.get_room()
        serializer = MessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        message = post_message(room, request.user, serializer.validated_data["text"])
        return Response(MessageDetailSerializer(message).data, status=status.HTTP_201_CREATED)


class NotificationListView(generics.ListAPIView):
    """GET /api/notifications/: the caller's notifications, newest first."""

    serializer_class = NotificationSerializer

    def get_queryset(self):
        return self.request.user.notifications.all()[:NOTIFICATIONS_PAGE_SIZE]


class SessionTokenView(APIView):
    """POST /api/token/session/: an access token for the page its logged-in person has open.

    The page's sockets authenticate with a token, not the session cookie; this is how a page
    that is already logged in gets one, and the next one each time it expires, without asking
    for the password again. No refresh token: the session stays the page's one proof of who
    it is, so logging out, which ends the session, ends the page's renewals too. The session
    only (not Basic, not a token: a token must not buy itself endless new ones), and DRF's
    session authentication demands the CSRF token on a POST.
    """

    authentication_classes = [SessionAuthentication]

    def post(self, request):
        return Response({"access": str(AccessToken.for_user(request.user))})
