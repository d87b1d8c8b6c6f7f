"""The chat app: rooms, their messages and the notifications they cause (step01)."""

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self):
        """Connect the signal receivers (step04): importing the module registers them."""
        from . import signal_handlers  # noqa: F401
