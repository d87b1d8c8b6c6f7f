"""WebSocket consumers: the chat room, live (step02), and each user's notifications (step03).

A consumer is an ASGI application for one connection. Its handlers answer events: the
connection's own (connect, receive, disconnect) and those its groups send it. From step04
the consumers only save; signals broadcast (`chat/signal_handlers.py`).
"""

import asyncio
import logging
import time
import weakref

from channels.db import database_sync_to_async
from channels.exceptions import AcceptConnection, DenyConnection
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .helpers import LAYER_ERRORS, notification_group_name, room_group_name
from .models import Room
from .serializers import MessageCreateSerializer
from .services import post_message

logger = logging.getLogger(__name__)

# The close code for "your access token has expired": 4000-4999 are free for applications
# (RFC 6455, 7.4.2), and 4401 reads as HTTP's 401. The page renews its token and reconnects.
TOKEN_EXPIRED = 4401
# The close code for "the server cannot reach its channel layer, come back later": 4503
# reads as HTTP's 503. (RFC 6455's own 1011 or 1013 would fit, but Daphne's WebSocket
# library, autobahn, lets an application close only with 1000 or 3000-4999.) The page
# reconnects with backoff and catches up with `?after=`.
LAYER_FAILED = 4503


class LayerWatch:
    """Closes one process's sockets when its channel layer fails, so that their pages catch up.

    With Redis gone, RedisChannelLayer fails each socket's pending receive by itself (see
    `AsyncBaseConsumer.__call__`). RedisPubSubChannelLayer does not: its sockets stay open and
    it resubscribes when Redis returns, so what was sent meanwhile never reaches them and
    their pages cannot know. So, while sockets are open, one trivial group_send a second tests
    the layer, and a failure closes them all.
    """

    interval = 1.0
    of_loop = weakref.WeakKeyDictionary()  # one watch per event loop (per server process)

    def __init__(self):
        self.consumers = set()
        self.task = None

    @classmethod
    def add(cls, consumer):
        watch = cls.of_loop.setdefault(asyncio.get_running_loop(), cls())
        watch.consumers.add(consumer)
        if watch.task is None or watch.task.done():
            watch.task = asyncio.create_task(watch.watch())

    @classmethod
    def remove(cls, consumer):
        watch = cls.of_loop.get(asyncio.get_running_loop())
        if watch is not None:
            watch.consumers.discard(consumer)

    async def watch(self):
        while self.consumers:
            await asyncio.sleep(self.interval)
            if not self.consumers:
                return
            layer = next(iter(self.consumers)).channel_layer  # the layer the sockets use now
            try:
                await layer.group_send("layer-watch", {"type": "layer.watch"})
            except LAYER_ERRORS as error:
                for consumer in list(self.consumers):
                    await consumer.close_for_layer_failure(error)


class AsyncBaseConsumer(AsyncJsonWebsocketConsumer):
    """The talk's base consumer: groups resolved before the handshake, then accept or deny.

    It also closes the socket when its access token expires or its channel layer fails, and
    answers a bad frame with an error frame instead of dying (the parent class would raise on
    a frame that is not JSON, or binary, and the exception would close the socket).
    """

    expiry = None  # the task that closes the socket when the token expires
    accepted = False  # set once the handshake has been accepted
    closed = False  # set once the socket is closed, by either side

    async def __call__(self, scope, receive, send):
        """The whole life of one socket; a failing channel layer ends it with one log line.

        Without this, Redis going away makes Daphne log a traceback for each open socket (and
        close it with 1011 all the same).
        """
        # Channels sets base_send after it has opened the socket's channel on the layer; a
        # layer that fails right there (Pub/Sub subscribes) would leave nothing to close with.
        self.base_send = send
        try:
            await super().__call__(scope, receive, send)
        except LAYER_ERRORS as error:
            await self.close_for_layer_failure(error)
        finally:
            if self.expiry is not None:
                self.expiry.cancel()
            LayerWatch.remove(self)

    async def close_for_layer_failure(self, error):
        """Close the socket with 4503 because the channel layer failed."""
        if self.closed:
            return
        name = type(error).__name__
        logger.info(
            "Closing %s: channel layer unreachable (%s: %s)", self.scope["path"], name, error
        )
        self.groups = []  # nothing to leave on a layer that is down
        if not self.accepted:
            # During the handshake (joining the groups failed): refusing it would be HTTP
            # 403, "you may not", which a browser logs as an error. Accept, then say 4503.
            await self.accept()
        await self.close(code=LAYER_FAILED)

    async def accept(self, subprotocol=None, headers=None):
        """Accept the handshake (remembered: a layer failure before it closes differently)."""
        self.accepted = True
        await super().accept(subprotocol, headers)

    async def close(self, code=None, reason=None):
        """Close from the server's side, once (the token timer and the layer watch may race)."""
        if not self.closed:
            self.closed = True
            await super().close(code, reason)

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
        LayerWatch.add(self)
        raise AcceptConnection

    async def close_when_expired(self, expires_at):
        """Close with 4401 the moment the token expires, not at the client's next frame."""
        await asyncio.sleep(max(0.0, expires_at - time.time()))
        await self.close(code=TOKEN_EXPIRED)

    async def websocket_disconnect(self, message):
        """The socket closed: nothing more may be sent (Channels then leaves `self.groups`)."""
        self.closed = True
        await super().websocket_disconnect(message)

    async def channel_message(self, event):
        """Group event `channel_message` (chat/helpers.py): forward its message to the client."""
        await self.send_json(event["message"])

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        """A frame from the client: JSON text holding an object, or an error frame back."""
        if text_data is None:
            await self.send_error("Binary frames are not accepted: send JSON text.")
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self.send_error("The frame is not valid JSON.")
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
