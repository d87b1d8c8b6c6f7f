"""JWT authentication for WebSockets: a simplejwt access token's user in scope["user"] (step03).

The token comes from an `Authorization: Bearer <access>` header (scripts, other servers) or
from `?token=<access>` (a browser's WebSocket cannot send headers). The talk's Channels 2
version of this middleware is in `chat/talk_channels2.py`, with why it fails on Channels 4.
"""

from urllib.parse import parse_qs

from channels.auth import UserLazyObject
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed


def raw_token(scope):
    """The token of the Authorization header if there is one, else of `?token=`; or None.

    A header, when sent, decides: a malformed one gives no token, not a second chance.
    """
    header = dict(scope.get("headers", [])).get(b"authorization")
    if header is not None:
        try:
            # simplejwt's own parsing: `Bearer <token>`; another scheme gives None.
            return JWTAuthentication().get_raw_token(header)
        except AuthenticationFailed:  # "Bearer" alone, or more than two parts
            return None
    return parse_qs(scope.get("query_string", b"")).get(b"token", [None])[0]


@database_sync_to_async
def user_and_token(token):
    """The user of a valid access token and the validated token; AnonymousUser and None if not.

    simplejwt does all the checking (signature, algorithm, expiry, token type, an active user
    that still exists); `get_user` reads the database, hence the thread.
    """
    if not token:
        return AnonymousUser(), None
    authentication = JWTAuthentication()
    try:
        validated = authentication.get_validated_token(token)
        return authentication.get_user(validated), validated
    except AuthenticationFailed:  # InvalidToken is one too
        return AnonymousUser(), None


class TokenAuthMiddleware(BaseMiddleware):
    """Sets scope["user"] (the token's user, or AnonymousUser) and scope["token"] (or None).

    It keeps the talk's two steps, populate_scope and resolve_scope, but since Channels 3
    BaseMiddleware calls neither: only `__call__` runs, so `__call__` runs them itself, as
    Channels' own AuthMiddleware does.
    """

    def populate_scope(self, scope):
        """Before the lookup: a user that refuses to be read until it is resolved."""
        scope["user"] = UserLazyObject()
        scope["token"] = None

    async def resolve_scope(self, scope):
        """The lookup, in a thread because it reads the database."""
        scope["user"]._wrapped, scope["token"] = await user_and_token(raw_token(scope))

    async def __call__(self, scope, receive, send):
        """One connection: copy the scope (never change the server's), fill it, go inward."""
        scope = dict(scope)
        self.populate_scope(scope)
        await self.resolve_scope(scope)
        return await super().__call__(scope, receive, send)


def TokenAuthMiddlewareStack(inner):
    """The talk's name for the middleware around the URL router.

    A stack of one layer: the talk also wrapped it in Channels' SessionMiddlewareStack, but
    the sockets no longer read the session cookie, so a session layer has nothing to do here.
    """
    return TokenAuthMiddleware(inner)
