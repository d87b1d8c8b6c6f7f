"""WebSocket consumers: the chat room, live (step02).

A consumer is an ASGI application for one connection. Its handlers answer events: the
connection's own (connect, receive, disconnect) and those its groups send it.
"""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .models import Room
from .serializers import MessageCreateSerializer
from .services import message_event, post_message, room_group_name


class AsyncBaseConsumer(AsyncJsonWebsocketConsumer):
    """A JSON consumer that answers a bad frame with an error frame instead of dying.

    The parent class would raise on a frame that is not JSON, or binary, and the exception
    would close the socket: one typo in a client would cost the connection.
    """

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

    async def connect(self):
        """Handshake: accept a logged-in member of the room, refuse (403) anyone else."""
        self.room_id = self.scope["url_route"]["kwargs"]["room_id"]
        self.group_name = room_group_name(self.room_id)
        if not await self.is_member():
            await self.close()  # before accept(): the server answers the handshake with 403
            return
        await self.channel_layer.group_add(self.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        """The socket closed: leave the group (a refused socket never joined it)."""
        await self.channel_layer.group_discard(self.group_name, self.channel_name)

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
        event = await self.save_message(serializer.validated_data["text"])
        if event is None:
            await self.send_error("You are no longer a member of this room.")
            return
        await self.channel_layer.group_send(self.group_name, event)

    async def chat_message(self, event):
        """Group event `chat.message`: a message saved in this room, sent to this socket."""
        await self.send_json({"type": "message", "data": event["data"]})

    def member_room(self):
        """The room, if the connected user is (still) one of its members; otherwise None."""
        room = Room.objects.filter(pk=self.room_id).first()
        return room if room is not None and room.has_member(self.scope["user"]) else None

    @database_sync_to_async
    def is_member(self):
        return self.member_room() is not None

    @database_sync_to_async
    def save_message(self, text):
        """Save through the API's write path (in a thread: the ORM is sync); None if refused."""
        room = self.member_room()
        if room is None:
            return None
        return message_event(post_message(room, self.scope["user"], text))
