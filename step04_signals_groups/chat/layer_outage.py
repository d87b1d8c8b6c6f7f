"""Optional reading, what a deployment adds (step04): a socket whose channel layer fails is
closed with 4503, one log line, so that its page reconnects and catches up; a broadcast and a
handshake give up on a Redis that does not answer. Wired in by the consumers' base class
(`AsyncBaseConsumer` in chat/consumers.py) and by the layer config/settings.py names.
"""

import asyncio
import logging
import weakref

from channels_redis.core import RedisChannelLayer
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# What a channel layer raises when its Redis is unreachable: redis-py's errors, and the
# socket errors beneath them (connection refused or reset, a timeout: TimeoutError, also
# that of `BoundedRedisChannelLayer` below, is an OSError).
LAYER_ERRORS = (RedisError, OSError)

# How long the layer waits for Redis, so that a Redis that accepts connections and never
# answers (hung, or behind a network that drops every packet) fails like one that is down.
# A working Redis answers in milliseconds, also across a network.
# - A broadcast (group_send) runs in the on-commit callback of the code that saved, on its
#   thread: for a socket's frame, the one thread that every `database_sync_to_async` call of
#   the process shares (every handshake's user and membership checks). 2 s, paid once per
#   broadcast: a post in the Lobby sends three (its message, two notifications).
# - A handshake joins its groups (group_add) within Daphne's 5 s for a handshake, which
#   would otherwise drop it before 4503 could tell the page why: 2 s too.
# - The sockets wait for their events with BZPOPMIN, which an idle Redis answers after
#   channels-redis' `brpop_timeout`, 5 s: 5 s more, 10 s in all.
LAYER_CALL_TIMEOUT = 2
RECEIVE_MARGIN = 5


class BoundedRedisChannelLayer(RedisChannelLayer):
    """channels-redis' RedisChannelLayer with every wait on Redis bounded (not by redis-py's
    socket timeout: config/settings.py says why). A call out of time raises TimeoutError, one
    of LAYER_ERRORS: a failure like the others (the broadcast helper logs one line and the
    row stays stored; the socket is closed with 4503).

    The receiving side is two internal methods of channels-redis 4.3, the ones that talk to
    Redis; the hung-Redis tests of tests/test_redis.py fail if an upgrade renames them.
    """

    async def group_send(self, group, message):
        await within(LAYER_CALL_TIMEOUT, super().group_send(group, message))

    async def group_add(self, group, channel):
        await within(LAYER_CALL_TIMEOUT, super().group_add(group, channel))

    async def group_discard(self, group, channel):
        await within(LAYER_CALL_TIMEOUT, super().group_discard(group, channel))

    async def _brpop_with_clean(self, index, channel, timeout):  # noqa: ASYNC109 (its name)
        """One round of the sockets' wait: Redis answers within `timeout` even when idle."""
        wait = super()._brpop_with_clean(index, channel, timeout)
        return await within(timeout + RECEIVE_MARGIN, wait)

    async def _clean_receive_backup(self, index, channel):
        await within(LAYER_CALL_TIMEOUT, super()._clean_receive_backup(index, channel))


async def within(seconds, layer_call):
    """Await `layer_call` for `seconds` at most, then raise TimeoutError, saying so."""
    deadline = asyncio.timeout(seconds)
    try:
        async with deadline:
            return await layer_call
    except TimeoutError:
        if not deadline.expired():
            raise  # a timeout of its own, with its own message
        raise TimeoutError(f"Redis did not answer within {seconds} s") from None


# The close code for "the server cannot reach its channel layer, come back later": 4503
# reads as HTTP's 503. (RFC 6455's own 1011 or 1013 would fit, but Daphne's WebSocket
# library, autobahn, lets an application close only with 1000 or 3000-4999.) The page
# reconnects with backoff and catches up with `?after=`.
LAYER_FAILED = 4503


class ClosesOnLayerOutage:
    """A websocket consumer that a failing channel layer closes with 4503, not a traceback.

    RedisChannelLayer tells each socket itself: while Redis is away, every consumer's pending
    receive, and every join of a group at a handshake, raises a connection error. Without
    this class, Daphne logs a traceback for each socket and closes it with 1011 all the same.
    It comes first among a consumer's bases, so that its methods wrap those of Channels.

    A Redis that hangs raises nothing until a wait times out (10 s, RECEIVE_MARGIN above),
    and channels-redis waits for all the sockets of a process through one receive at a time:
    the next socket in line would wait 10 s more, and the next... So a socket whose wait
    timed out closes every open socket of its process.
    """

    accepted = False  # set once the handshake has been accepted
    closed = False  # set once the socket is closed, by either side
    open_sockets = weakref.WeakSet()  # this process's accepted sockets that are still open

    async def __call__(self, scope, receive, send):
        """The whole life of one socket; a failure of the layer ends it with 4503."""
        # Channels sets base_send once the socket's channel is open on the layer; set it
        # first, so that a layer failing right there still leaves a way to close.
        self.base_send = send
        try:
            await super().__call__(scope, receive, send)
        except LAYER_ERRORS as error:
            name = type(error).__name__
            logger.info("Closing %s: channel layer failed (%s: %s)", scope["path"], name, error)
            others = []
            if self.accepted and isinstance(error, (RedisTimeoutError, TimeoutError)):
                others = [other for other in self.open_sockets if other is not self]
            await self.close_for_layer_failure()
            await self.disconnect(LAYER_FAILED)  # the consumer's own clean-up, as on any close
            if others:
                logger.info("Closing the %d other open sockets too: same layer", len(others))
            for other in others:
                await other.close_for_layer_failure()  # its disconnect follows, from Daphne

    async def close_for_layer_failure(self):
        """Close with 4503, leaving no group: there is nothing to leave on a failed layer."""
        self.groups = []
        if not self.closed:
            if not self.accepted:
                # Refusing the handshake would be HTTP 403, "you may not", which a browser
                # logs as an error: accept it, then close with 4503.
                await self.accept()
            await self.close(code=LAYER_FAILED)

    async def accept(self, subprotocol=None, headers=None):
        self.accepted = True
        self.open_sockets.add(self)
        await super().accept(subprotocol, headers)

    async def close(self, code=None, reason=None):
        """Close from the server's side, once (the token's timer may have closed already)."""
        self.open_sockets.discard(self)
        if not self.closed:
            self.closed = True
            await super().close(code, reason)

    async def websocket_disconnect(self, message):
        self.closed = True
        self.open_sockets.discard(self)
        await super().websocket_disconnect(message)
