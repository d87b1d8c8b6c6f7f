"""The talk's Channels 2 patterns for this step, kept to compare with today's (step03).

The shapes are the talk's; the token lookup is this step's, so that only the pattern differs.
Nothing in the project imports this module: notebook 03 and the tests run it on Channels 4
to show what goes wrong. Use `chat/middleware.py` and `chat/consumers.py` instead.
"""

from channels.auth import UserLazyObject
from channels.exceptions import AcceptConnection, DenyConnection
from channels.middleware import BaseMiddleware
from channels.sessions import SessionMiddlewareStack

from .consumers import RoomConversationConsumer
from .middleware import raw_token, user_and_token


class TokenAuthMiddleware(BaseMiddleware):
    """The talk's middleware: the two hooks that Channels 2's BaseMiddleware called.

    On Channels 3 and 4, BaseMiddleware's only entry point is `async __call__(scope, receive,
    send)`, which copies the scope and calls the inner application: neither hook ever runs.
    The middleware itself raises nothing; the token is never read and scope["user"] never set,
    so the first consumer that asks for the user fails (KeyError: 'user').
    """

    def populate_scope(self, scope):
        if "user" not in scope:
            scope["user"] = UserLazyObject()

    async def resolve_scope(self, scope):
        scope["user"]._wrapped, scope["token"] = await user_and_token(raw_token(scope))


def TokenAuthMiddlewareStack(inner):
    """The talk's stack, as the talk wrote it: Channels' session layers around its middleware.

    SessionMiddlewareStack (cookies, then the session) sets scope["session"], never a user,
    so it cannot hide that the token middleware does nothing. (AuthMiddlewareStack would: it
    sets scope["user"] from the session, see tests/test_token_auth.py.)
    """
    return SessionMiddlewareStack(TokenAuthMiddleware(inner))


class TalkRoomConversationConsumer(RoomConversationConsumer):
    """The talk's room consumer: its `connect` asks only whether the user is authenticated."""

    async def connect(self):
        """Accept any authenticated user: a non-member is accepted and silently joins no group."""
        if self.scope["user"].is_authenticated:
            raise AcceptConnection
        raise DenyConnection
