"""The chat app: rooms, their messages and the notifications they cause (step01)."""

from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
