"""The news collector app: one page that gathers news from several slow sources (step01)."""

from django.apps import AppConfig


class CollectorConfig(AppConfig):
    name = "collector"
