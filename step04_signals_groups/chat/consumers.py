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


class LayerSilent(ConnectionError):
    """The channel layer took a probe and did not bring it back."""


def is_layer_failure(error):
    """Whether `error` means "this process cannot use its channel layer right now"."""
    if isinstance(error, LAYER_ERRORS):
        return True
    # channels-redis 4.3's Pub/Sub layer, right after Redis returns: its receiving task and a
    # handshake's subscribe both read the new connection, and asyncio refuses the second
    # reader once (the same race as redis-py issue #2540). Any other RuntimeError is a bug.
    return isinstance(error, RuntimeError) and "another coroutine is already waiting" in str(error)


class LayerWatch:
    """Proves, for one server process, that its channel layer still carries messages.

    A probe sent to the watch's own channel must come back: at each handshake, before the
    socket is accepted, and once a second while sockets are open. When it does not, the
    sockets are closed with 4503 and their pages reconnect and catch up. A round trip, not
    just a send, because RedisPubSubChannelLayer loses messages without an error twice: it
    keeps its sockets open through an outage, and for a second or two after Redis returns it
    publishes while it has not subscribed again. (RedisChannelLayer fails each socket's
    pending receive by itself, see `AsyncBaseConsumer.__call__`.)
    """

    interval = 1.0  # seconds between probes while sockets are open
    timeout = 5.0  # Redis on loopback answers in a millisecond; a busy event loop is slower
    of_loop = weakref.WeakKeyDictionary()  # {event loop: {channel layer: its watch}}

    def __init__(self, layer):
        self.layer = layer
        self.consumers = set()
        self.task = None  # the probes while sockets are open
        self.channel = None  # the watch's own channel on the layer...
        self.listener = None  # ...and the task that reads it
        self.starting = asyncio.Lock()
        self.arrivals = {}  # {probe number: the future its arrival resolves}
        self.probes = 0

    @classmethod
    def of(cls, layer):
        watches = cls.of_loop.setdefault(asyncio.get_running_loop(), weakref.WeakKeyDictionary())
        if layer not in watches:
            watches[layer] = cls(layer)
        return watches[layer]

    @classmethod
    async def admit(cls, consumer):
        """At a handshake: watch the consumer, once a probe has come back (or raise)."""
        watch = cls.of(consumer.channel_layer)
        watch.consumers.add(consumer)
        if watch.task is None or watch.task.done():
            watch.task = asyncio.create_task(watch.watch())
        await watch.round_trip()

    @classmethod
    def remove(cls, consumer):
        layer = getattr(consumer, "channel_layer", None)  # None if it failed before it had one
        watch = cls.of_loop.get(asyncio.get_running_loop(), {}).get(layer) if layer else None
        if watch is not None:
            watch.consumers.discard(consumer)

    @classmethod
    async def finished(cls):
        """Wait until this event loop's watches have stopped (their sockets have all closed)."""
        for watch in list(cls.of_loop.get(asyncio.get_running_loop(), {}).values()):
            if watch.task is not None:
                await watch.task

    async def round_trip(self):
        """Send a probe to the watch's own channel and wait until it comes back."""
        async with self.starting:
            if self.listener is None or self.listener.done():
                # A channel like the sockets' own: RedisChannelLayer reads all of a process's
                # channels with one blocking read, but only those of one prefix.
                self.channel = await self.layer.new_channel()
                self.listener = asyncio.create_task(self.listen(self.channel))
        self.probes += 1
        number = self.probes
        self.arrivals[number] = asyncio.get_running_loop().create_future()
        try:
            await self.layer.send(self.channel, {"type": "layer.probe", "number": number})
            await asyncio.wait_for(self.arrivals[number], self.timeout)
        except TimeoutError:
            raise LayerSilent(f"a probe did not come back within {self.timeout:g} s") from None
        finally:
            del self.arrivals[number]

    async def listen(self, channel):
        """Read the watch's channel: each probe that arrives ends the wait for it."""
        while True:
            try:
                message = await self.layer.receive(channel)
            except (*LAYER_ERRORS, RuntimeError) as error:
                if not is_layer_failure(error):
                    raise
                await asyncio.sleep(self.interval)  # Redis is away; the probes will say so
                continue
            arrival = self.arrivals.get(message.get("number"))
            if arrival is not None and not arrival.done():
                arrival.set_result(None)

    async def watch(self):
        """Probe once a second while sockets are open; a failure closes them all with 4503."""
        try:
            while self.consumers:
                await asyncio.sleep(self.interval)
                if not self.consumers:
                    break
                try:
                    await self.round_trip()
                except (*LAYER_ERRORS, RuntimeError) as error:
                    if not is_layer_failure(error):
                        raise
                    for consumer in list(self.consumers):
                        await consumer.close_for_layer_failure(error)
        finally:
            # The last socket has closed: stop reading (the next handshake starts anew).
            if self.listener is not None:
                self.listener.cancel()
            self.listener = self.channel = None


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
        except (*LAYER_ERRORS, RuntimeError) as error:
            if not is_layer_failure(error):
                raise
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
        logger.info("Closing %s: channel layer failed (%s: %s)", self.scope["path"], name, error)
        self.groups = []  # nothing to leave on a layer that is down
        if not self.accepted:
            # During the handshake (joining the groups or the probe failed): refusing it would
            # be HTTP 403, "you may not", which a browser logs as an error. Accept, then 4503.
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
        # The groups are joined; accept only once the layer has carried a probe to this
        # process (else __call__ closes the socket with 4503 and the page comes back later).
        await LayerWatch.admit(self)
        token = self.scope.get("token")
        if token is not None:
            self.expiry = asyncio.create_task(self.close_when_expired(token["exp"]))
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
