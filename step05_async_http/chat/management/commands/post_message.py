"""`python manage.py post_message ROOM USERNAME TEXT`: a message saved from the terminal (step04).

It saves through the same `post_message` as the API and the socket; the post_save signals
broadcast it. Only a channel layer shared by processes (Redis) carries it to a server's sockets.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from chat.models import Room
from chat.serializers import MessageCreateSerializer
from chat.services import post_message


class Command(BaseCommand):
    help = "Save a message in ROOM (a name or an id) from USERNAME; signals broadcast it."

    def add_arguments(self, parser):
        parser.add_argument("room", help='a room name ("Lobby") or id')
        parser.add_argument("username")
        parser.add_argument("text")

    def handle(self, *args, room, username, text, **options):
        found = self.find_room(room)
        author = get_user_model().objects.filter(username=username).first()
        if author is None:
            raise CommandError(f"No user {username!r}.")
        if not found.has_member(author):
            raise CommandError(f"{username} is not a member of {found.name!r}.")
        serializer = MessageCreateSerializer(data={"text": text})
        if not serializer.is_valid():
            raise CommandError(f"text: {' '.join(serializer.errors['text'])}")
        message = post_message(found, author, serializer.validated_data["text"])
        self.stdout.write(f"Message {message.id} saved in {found.name} (room {found.id}).")
        backend = settings.CHANNEL_LAYERS["default"]["BACKEND"]
        if backend.endswith("InMemoryChannelLayer"):
            self.stdout.write(
                "The channel layer is in memory, inside this command's process: open pages do"
                " not see the message live, only after a reload. Set REDIS_URL, for this command"
                " and for the server, to reach them at once."
            )
        else:
            self.stdout.write(f"Broadcast through {backend.rsplit('.', 1)[-1]}.")

    def find_room(self, room):
        """The room by id (ASCII digits) or by exact name."""
        rooms = Room.objects.all()
        found = rooms.filter(pk=int(room)).first() if room.isascii() and room.isdigit() else None
        found = found or rooms.filter(name=room).first()
        if found is None:
            names = ", ".join(f"{r.id}: {r.name}" for r in rooms) or "none: run seed_demo"
            raise CommandError(f"No room {room!r}. The rooms are {names}.")
        return found
