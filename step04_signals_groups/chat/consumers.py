"""WebSocket consumers: the chat room, live (step02), and each user's notifications (step03).

A consumer is an ASGI application for one connection. Its handlers answer events: the
connection's own (connect, receive, disconnect) and those its groups send it. From step04
the consumers only save; signals broadcast, and close the sockets of someone whose access
ended (`chat/signal_handlers.py`).
"""

import asyncio
import time

from channels.db import database_sync_to_async
from channels.exceptions import AcceptConnection, DenyConnection
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .group_events import SkipsCleanupForGroupEvents
from .helpers import notification_group_name, room_group_name
from .layer_outage import ClosesOnLayerOutage
from .models import Room
from .serializers import MessageCreateSerializer
from .services import post_message

# The close code for "your access token has expired": 4000-4999 are free for applications
# (RFC 6455, 7.4.2), and 4401 reads as HTTP's 401. The page renews its token and reconnects.
TOKEN_EXPIRED = 4401
# From step04, "you may no longer be here" (removed from the room, or deactivated): 4403
# reads as HTTP's 403. The page says so and does not reconnect.
ACCESS_REVOKED = 4403


class AsyncBaseConsumer(
    SkipsCleanupForGroupEvents, ClosesOnLayerOutage, AsyncJsonWebsocketConsumer
):
    """The talk's base consumer: groups resolved before the handshake, then accept or deny.

    It also closes the socket when its access token expires, and answers a bad frame with an
    error frame instead of dying (the parent class would raise on a frame that is not JSON,
    or binary, and the exception would close the socket). From step04, `ClosesOnLayerOutage`
    (chat/layer_outage.py, optional reading) closes it with 4503 when Redis goes away, and
    `SkipsCleanupForGroupEvents` (chat/group_events.py, optional reading) spares a broadcast
    a database hop per socket.
    """

    expiry = None  # the task that closes the socket when the token expires

    async def websocket_connect(self, message):
        """Handshake: resolve the groups, then Channels joins them and calls connect()."""
        user = self.scope["user"]
        self.groups = await self.resolve_groups() if user.is_authenticated else []
        await super().websocket_connect(message)

    async def resolve_groups(self):
        """The groups an authenticated user's socket joins; none means it is refused."""
        return []

    async def connect(self):
        """Accept (raise AcceptConnection) a user with a group to join; deny anyone else.

        A denied socket is closed before it is accepted, which Daphne answers with HTTP 403.
        """
        if not (self.scope["user"].is_authenticated and self.groups):
            raise DenyConnection
        token = self.scope.get("token")
        if token is not None:
            self.expiry = asyncio.create_task(self.close_when_expired(token["exp"]))
        raise AcceptConnection

    async def close_when_expired(self, expires_at):
        """Close with 4401 the moment the token expires, not at the client's next frame."""
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        await self.close(code=TOKEN_EXPIRED)

    async def disconnect(self, code):
        """The socket closed: stop the expiry timer (Channels leaves `self.groups` itself)."""
        if self.expiry is not None:
            self.expiry.cancel()

    async def channel_message(self, event):
        """Group event `channel_message` (chat/helpers.py): forward its message to the client."""
        await self.send_json(event["message"])

    async def access_revoked(self, event):
        """Group event `access_revoked` (chat/helpers.py): close, if it names this socket's user."""
        if event["user_id"] == self.scope["user"].pk:
            await self.close(code=event["code"])

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """A frame from the client: JSON text holding an object, or an error frame back."""
        if text_data is None:
            await self.send_error("Binary frames are not accepted: send JSON text.")
            return
        try:
            content = await self.decode_json(text_data)
        except (ValueError, RecursionError):  # RecursionError: JSON nested too deeply
            await self.send_error("The frame cannot be decoded as JSON.")
            return
        if not isinstance(content, dict):
            await self.send_error('A frame must be a JSON object, like {"type": "message"}.')
            return
        await self.receive_json(content)

    async def send_error(self, error):
        await self.send_json({"type": "error", "error": error})


class RoomConversationConsumer(AsyncBaseConsumer):
    """/ws/conversations/<room_id>/: the members of a room talk, everyone sees it at once."""

    async def resolve_groups(self):
        """The room's group for a member; none for anyone else, who is refused (not ignored)."""
        self.room_id = self.scope["url_route"]["kwargs"]["room_id"]
        self.group_name = room_group_name(self.room_id)
        return [self.group_name] if await self.is_member() else []

    async def receive_json(self, content, **kwargs):
        """A client frame: `{"type": "message", "text": ...}` is validated, saved, broadcast."""
        if content.get("type") != "message":
            await self.send_error('Unknown frame type: send {"type": "message", "text": "..."}.')
            return
        serializer = MessageCreateSerializer(data=content)
        if not serializer.is_valid():
            field, errors = next(iter(serializer.errors.items()))
            await self.send_error(f"{field}: {' '.join(errors)}")
            return
        if not await self.save_message(serializer.validated_data["text"]):
            await self.send_error("You are no longer a member of this room.")

    def member_room(self):
        """The room, if the connected user is (still) one of its members; otherwise None."""
        room = Room.objects.filter(pk=self.room_id).first()
        return room if room is not None and room.has_member(self.scope["user"]) else None

    @database_sync_to_async
    def is_member(self):
        return self.member_room() is not None

    @database_sync_to_async
    def save_message(self, text):
        """Save through the API's write path (in a thread: the ORM is sync); False if refused.

        No broadcast here: the post_save signals send the message once it is committed.
        """
        room = self.member_room()
        if room is None:
            return False
        post_message(room, self.scope["user"], text)
        return True


class NotificationConsumer(AsyncBaseConsumer):
    """/ws/notifications/: each user's own notifications, the moment they are stored."""

    async def resolve_groups(self):
        """The user's own group, and no one else's."""
        return [notification_group_name(self.scope["user"].pk)]

    async def receive_json(self, content, **kwargs):
        """This socket only speaks: any frame from the client gets an error frame."""
        await self.send_error("This socket only sends notifications; it takes no frames.")
