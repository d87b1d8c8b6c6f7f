"""`python manage.py seed_demo`: the demo users and rooms, the same however often run (step01)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from chat.models import Room

DEMO_PASSWORD = "workshop"
DEMO_USERS = ["alice", "bob", "carol"]
DEMO_ROOMS = {"Lobby": ["alice", "bob", "carol"], "Alice & Bob": ["alice", "bob"]}


class Command(BaseCommand):
    help = "Create (or reset) the demo users alice, bob, carol and the rooms Lobby, Alice & Bob."

    @transaction.atomic
    def handle(self, *args, **options):
        users = {name: self.reset_user(name) for name in DEMO_USERS}
        self.stdout.write(f"Users {', '.join(DEMO_USERS)}, password '{DEMO_PASSWORD}'.")
        self.stdout.write("alice is also a superuser: http://127.0.0.1:8000/admin/")
        for room_name, member_names in DEMO_ROOMS.items():
            room, _ = Room.objects.get_or_create(name=room_name)
            room.members.set(users[name] for name in member_names)
            self.stdout.write(f"Room {room.id}: {room.name} ({', '.join(member_names)})")

    def reset_user(self, username):
        """Create the user, or put it back as the demo expects (password, alice as admin)."""
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(DEMO_PASSWORD)
        # alice can open the admin, where (from step04) a saved message reaches the room too.
        user.is_staff = user.is_superuser = username == "alice"
        user.save()
        return user
