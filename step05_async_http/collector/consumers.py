"""The news collector as a Channels AsyncHttpConsumer: the talk's async version (step05).

Routed in `config/asgi.py`, before Django: Channels serves this path, Django every other.
"""

import json

from channels.generic.http import AsyncHttpConsumer
from django.conf import settings

from .async_news import collect_news_async
from .guards import GuardedCollector


# GuardedCollector: GET only, no body, a few at once (collector/guards.py, optional reading).
class NewsCollectorAsyncConsumer(GuardedCollector, AsyncHttpConsumer):
    """GET /collector/collect_news_async/: every source at once, in the server's event loop."""

    # It talks to no group: no channel on the channel layer for each request (with Redis,
    # that would be a round trip to Redis per call for nothing).
    channel_layer_alias = None

    async def handle(self, body):
        """The request, once its body has arrived: collect, then answer JSON (always 200)."""
        report = await collect_news_async(
            settings.NEWS_SOURCES, settings.NEWS_TIMEOUT, settings.NEWS_CONCURRENCY
        )
        headers = [(b"Content-Type", b"application/json")]
        await self.send_response(200, json.dumps(report).encode(), headers=headers)
