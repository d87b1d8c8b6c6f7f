"""Optional reading, what a deployment adds (step04): a socket whose channel layer fails is
closed with 4503, one log line, so that its page reconnects and catches up.

Wired into the consumers by one base class (`AsyncBaseConsumer` in chat/consumers.py).
"""

import logging

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What a channel layer raises when its Redis is unreachable: redis-py's errors, and the
# socket errors beneath them (connection refused or reset, a timeout).
LAYER_ERRORS = (RedisError, OSError)

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
    """

    accepted = False  # set once the handshake has been accepted
    closed = False  # set once the socket is closed, by either side

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
            self.groups = []  # nothing to leave on a layer that is down
            if not self.closed:
                if not self.accepted:
                    # Refusing the handshake would be HTTP 403, "you may not", which a browser
                    # logs as an error: accept it, then close with 4503.
                    await self.accept()
                await self.close(code=LAYER_FAILED)
            await self.disconnect(LAYER_FAILED)  # the consumer's own clean-up, as on any close

    async def accept(self, subprotocol=None, headers=None):
        self.accepted = True
        await super().accept(subprotocol, headers)

    async def close(self, code=None, reason=None):
        """Close from the server's side, once (the token's timer may have closed already)."""
        if not self.closed:
            self.closed = True
            await super().close(code, reason)

    async def websocket_disconnect(self, message):
        self.closed = True
        await super().websocket_disconnect(message)
