"""Optional reading, what a deployment adds (step04): a group event that only forwards a frame
skips the database clean-up Channels runs before every handler.

Since Channels 4.2, `AsyncConsumer.dispatch` awaits `aclose_old_connections()` before each
handler: Django's `close_old_connections()` through `sync_to_async`, on the one thread that
every `database_sync_to_async` call of the process shares. A broadcast to 1,000 sockets then
queues 1,000 such calls on that thread, one after the other, before the last socket's frame
goes out; handshakes and saved messages wait behind them.

The events named below touch no database: `channel_message` sends the frame it carries,
`access_revoked` compares two user ids and may close the socket. Skipping the clean-up for
them is safe: it closes the database connections of that shared thread that have outlived
CONN_MAX_AGE or broken, and every handler that does use the database (a handshake, a frame
from the client) still runs it first, as `database_sync_to_async` does around each call.
Wired in by the consumers' base class (`AsyncBaseConsumer` in chat/consumers.py).
"""

from channels.consumer import get_handler_name


class SkipsCleanupForGroupEvents:
    """Dispatch the events that touch no database straight to their handlers."""

    NO_DATABASE_EVENTS = frozenset({"channel_message", "access_revoked"})

    async def dispatch(self, message):
        name = get_handler_name(message)
        if name in self.NO_DATABASE_EVENTS:
            await getattr(self, name)(message)
        else:
            await super().dispatch(message)
