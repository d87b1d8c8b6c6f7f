"""`python manage.py token USERNAME`: a fresh access token from the terminal (step03)."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework_simplejwt.tokens import RefreshToken


class Command(BaseCommand):
    help = "Print a fresh JWT access token for USERNAME (--pair: access and refresh as JSON)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--pair", action="store_true", help='print {"access": ..., "refresh": ...}'
        )

    def handle(self, *args, username, pair, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}: run `python manage.py seed_demo` first?")
        if not user.is_active:
            raise CommandError(f"{username!r} is inactive: the server would refuse its token.")
        refresh = RefreshToken.for_user(user)
        if pair:
            self.stdout.write(
                json.dumps({"access": str(refresh.access_token), "refresh": str(refresh)})
            )
        else:
            self.stdout.write(str(refresh.access_token))
