"""JWT on the sockets: who gets in, who is refused, when a socket is closed (step03).

The hostile tokens are forged the way an attacker would: simplejwt's claims, signed (or not)
with PyJWT. Every test talks to the full `config.asgi.application`.
"""

import base64
import json
import time
from datetime import timedelta

import jwt
import pytest
import websockets
from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack, UserLazyObject
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import path
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from chat import talk_channels2
from chat.consumers import TOKEN_EXPIRED
from chat.middleware import TokenAuthMiddleware, TokenAuthMiddlewareStack
from config.asgi import application
from config.routing import websocket_urlpatterns

# The consumers read the database from their threads: real commits, not a test transaction.
pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://127.0.0.1:8000")
# A handshake reads the database (and Redis) in threads: on a busy machine (make test runs
# suites side by side) it can take longer than WebsocketCommunicator's default of 1 s.
HANDSHAKE_SECONDS = 10
SOCKET_PATHS = ["/ws/conversations/{room}/", "/ws/notifications/"]


def access_token(user, lifetime=None):
    token = AccessToken.for_user(user)
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    return str(token)


def base64url(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def one_character_changed(token):
    """The token with one character of its signature changed (not the last one, whose low
    bits base64 may ignore)."""
    signature_start = token.rindex(".") + 1
    at = signature_start + 5
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1 :]


def in_query(token):
    return f"?token={token}", []


def in_header(value):
    return "", [(b"authorization", value.encode())]


# Each builder takes the demo users and returns (query string, extra headers); they run in
# a thread because some change the database.
HOSTILE = {
    "no token": lambda users: ("", []),
    "empty token": lambda users: in_query(""),
    "garbage": lambda users: in_query("garbage"),
    "one character changed": lambda users: in_query(
        one_character_changed(access_token(users["alice"]))
    ),
    "signed with another key": lambda users: in_query(
        jwt.encode(
            AccessToken.for_user(users["alice"]).payload,
            "another-key-that-is-long-enough-for-hs256-xyz",
            algorithm="HS256",
        )
    ),
    "alg none": lambda users: in_query(
        base64url({"alg": "none", "typ": "JWT"})
        + "."
        + base64url(AccessToken.for_user(users["alice"]).payload)
        + "."
    ),
    "expired access token": lambda users: in_query(
        access_token(users["alice"], lifetime=timedelta(seconds=-60))
    ),
    "refresh token used as access": lambda users: in_query(
        str(RefreshToken.for_user(users["alice"]))
    ),
    "inactive user": lambda users: inactive_users_token(users["carol"]),
    "deleted user": lambda users: deleted_users_token(),
    "token in the wrong query parameter": lambda users: (
        f"?access={access_token(users['alice'])}",
        [],
    ),
    "header without a token": lambda users: in_header("Bearer"),
    "header with two tokens": lambda users: in_header(
        f"Bearer {access_token(users['alice'])} extra"
    ),
    "header with another scheme": lambda users: in_header(f"Token {access_token(users['alice'])}"),
}


def inactive_users_token(user):
    token = access_token(user)
    user.is_active = False
    user.save()
    return in_query(token)


def deleted_users_token():
    dave = get_user_model().objects.create_user("dave", password="workshop")
    token = access_token(dave)
    dave.delete()
    return in_query(token)


async def connect(app, path, query="", headers=()):
    communicator = WebsocketCommunicator(app, path + query, headers=[ORIGIN, *headers])
    communicator.connected, communicator.close_code = await communicator.connect(
        timeout=HANDSHAKE_SECONDS
    )
    return communicator


@pytest.mark.parametrize("socket_path", SOCKET_PATHS)
@pytest.mark.parametrize("credentials", HOSTILE.values(), ids=HOSTILE.keys())
async def test_hostile_credentials_are_refused_at_handshake(lobby, users, credentials, socket_path):
    query, headers = await sync_to_async(credentials)(users)

    socket = await connect(application, socket_path.format(room=lobby.id), query, headers)

    assert not socket.connected
    assert socket.close_code == 1000  # closed before accept(): Daphne answers HTTP 403


@pytest.mark.parametrize("socket_path", SOCKET_PATHS)
async def test_valid_token_in_the_query_string_is_accepted(lobby, users, socket_path):
    socket = await connect(
        application, socket_path.format(room=lobby.id), *in_query(access_token(users["bob"]))
    )

    assert socket.connected
    await socket.disconnect()


@pytest.mark.parametrize("socket_path", SOCKET_PATHS)
async def test_valid_token_in_the_authorization_header_is_accepted(lobby, users, socket_path):
    header = in_header(f"Bearer {access_token(users['bob'])}")

    socket = await connect(application, socket_path.format(room=lobby.id), *header)

    assert socket.connected
    await socket.disconnect()


async def test_a_header_decides_even_when_the_query_holds_a_valid_token(lobby, users):
    query, _ = in_query(access_token(users["bob"]))
    _, bad_header = in_header("Bearer garbage")

    socket = await connect(application, f"/ws/conversations/{lobby.id}/", query, bad_header)

    assert not socket.connected


async def test_non_member_is_refused_on_that_room_and_accepted_on_hers(lobby, alice_and_bob, users):
    carols_token = in_query(access_token(users["carol"]))

    foreign = await connect(application, f"/ws/conversations/{alice_and_bob.id}/", *carols_token)
    own = await connect(application, f"/ws/conversations/{lobby.id}/", *carols_token)

    assert not foreign.connected
    assert own.connected
    await own.disconnect()


async def test_foreign_origin_is_refused_even_with_a_valid_token(lobby, users):
    communicator = WebsocketCommunicator(
        application,
        f"/ws/conversations/{lobby.id}/?token={access_token(users['alice'])}",
        headers=[(b"origin", b"http://evil.example")],
    )

    connected, _ = await communicator.connect(timeout=HANDSHAKE_SECONDS)

    assert not connected


@pytest.mark.parametrize("socket_path", SOCKET_PATHS)
async def test_socket_is_closed_with_4401_when_its_token_expires(lobby, users, socket_path):
    token = access_token(users["alice"], lifetime=timedelta(seconds=2))
    expires_at = AccessToken(token)["exp"]
    socket = await connect(application, socket_path.format(room=lobby.id), *in_query(token))
    assert socket.connected

    closing = await socket.receive_output(timeout=5)  # nothing sent: the server closes alone
    closed_at = time.time()

    assert closing == {"type": "websocket.close", "code": TOKEN_EXPIRED}
    assert expires_at - 0.1 <= closed_at <= expires_at + 1
    await socket.disconnect()


class ScopeRecorder:
    """An ASGI application that keeps the scope it was called with, then refuses the socket."""

    def __init__(self):
        self.scope = None

    async def __call__(self, scope, receive, send):
        self.scope = scope
        await receive()
        await send({"type": "websocket.close"})


async def scope_seen_with(middleware, query="", headers=()):
    recorder = ScopeRecorder()
    communicator = WebsocketCommunicator(middleware(recorder), "/ws/" + query, headers=headers)
    await communicator.connect(timeout=HANDSHAKE_SECONDS)
    await communicator.disconnect()
    return recorder.scope


async def test_middleware_puts_the_tokens_user_into_the_scope(users):
    scope = await scope_seen_with(TokenAuthMiddleware, *in_query(access_token(users["alice"])))

    assert isinstance(scope["user"], UserLazyObject)
    assert scope["user"].username == "alice"
    assert scope["token"]["user_id"] == str(users["alice"].pk)


async def test_middleware_puts_an_anonymous_user_for_a_bad_token(users):
    scope = await scope_seen_with(TokenAuthMiddleware, *in_query("garbage"))

    assert scope["user"].is_anonymous
    assert scope["token"] is None


async def session_cookie(user):
    """The Cookie header of a browser logged in as `user` (Django's session cookie)."""
    client = Client()
    await sync_to_async(client.force_login)(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


async def test_talks_channels2_stack_sets_no_user_on_channels4(users):
    cookie = await session_cookie(users["bob"])
    query, _ = in_query(access_token(users["alice"]))

    scope = await scope_seen_with(talk_channels2.TokenAuthMiddlewareStack, query, [cookie])

    # Its populate_scope and resolve_scope never ran: no user, no token, not even anonymous.
    # The talk's session layers found bob's session, and a session is not a user.
    assert "user" not in scope
    assert "token" not in scope
    session_user_id = await sync_to_async(scope["session"].get)("_auth_user_id")  # reads the db
    assert session_user_id == str(users["bob"].pk)


def talks_middleware_in_auth_middleware_stack(inner):
    """A variant of the talk's stack: AuthMiddlewareStack, which also sets the session's user."""
    return AuthMiddlewareStack(talk_channels2.TokenAuthMiddleware(inner))


async def test_talks_middleware_in_auth_middleware_stack_is_quietly_the_sessions_user(users):
    cookie = await session_cookie(users["bob"])
    query, _ = in_query(access_token(users["alice"]))

    with_cookie = await scope_seen_with(talks_middleware_in_auth_middleware_stack, query, [cookie])
    script = await scope_seen_with(talks_middleware_in_auth_middleware_stack, query)

    # Nothing fails, and the token is never read: alice's token on bob's browser is bob, and
    # on a script (no cookie) an anonymous user, whom the consumers refuse.
    assert with_cookie["user"].username == "bob"
    assert script["user"].is_anonymous
    assert "token" not in with_cookie and "token" not in script


async def test_talks_channels2_stack_fails_a_valid_token_in_the_consumer(lobby, users):
    app = talk_channels2.TokenAuthMiddlewareStack(URLRouter(websocket_urlpatterns))

    path, query = f"/ws/conversations/{lobby.id}/", in_query(access_token(users["alice"]))[0]
    socket = WebsocketCommunicator(app, path + query, headers=[ORIGIN])

    # The middleware raises nothing; the consumer does, when it asks for the user (Daphne
    # answers that handshake with HTTP 500 and logs the traceback). The communicator raises
    # the consumer's exception once its wait for an answer is over: a short wait suffices.
    with pytest.raises(KeyError, match="user"):
        await socket.connect(timeout=1)


async def test_talks_consumer_accepts_a_non_member_who_then_hears_nothing(
    alice_and_bob, users, api_as
):
    route = "ws/conversations/<int:room_id>/"
    app = TokenAuthMiddlewareStack(
        URLRouter([path(route, talk_channels2.TalkRoomConversationConsumer.as_asgi())])
    )
    carol = await connect(
        app, f"/ws/conversations/{alice_and_bob.id}/", *in_query(access_token(users["carol"]))
    )

    response = await sync_to_async(api_as("alice").post)(
        f"/api/rooms/{alice_and_bob.id}/messages/", {"text": "private"}, format="json"
    )

    assert carol.connected  # the talk's version lets her in...
    assert response.status_code == 201
    assert await carol.receive_nothing(timeout=0.3)  # ...to a socket that stays silent
    await carol.disconnect()


# Against a real server: what a script or a browser meets (Daphne, its HTTP answers).


async def test_daphne_answers_a_refused_handshake_with_403(daphne, lobby):
    url = f"ws://127.0.0.1:{daphne.port}/ws/conversations/{lobby.id}/?token=garbage"

    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, additional_headers={"Origin": daphne.url}):
            pass

    assert refused.value.response.status_code == 403


async def test_script_client_with_a_bearer_header_talks_to_daphne(daphne, lobby, users):
    headers = {"Authorization": f"Bearer {access_token(users['alice'])}", "Origin": daphne.url}
    url = f"ws://127.0.0.1:{daphne.port}/ws/conversations/{lobby.id}/"

    async with websockets.connect(url, additional_headers=headers) as socket:
        await socket.send(json.dumps({"type": "message", "text": "hello from a script"}))
        frame = json.loads(await socket.recv())

    assert frame["type"] == "message"
    assert frame["data"]["text"] == "hello from a script"
    assert frame["data"]["author"] == "alice"


def test_tokens_are_signed_with_the_projects_secret_key(users):
    token = access_token(users["alice"])

    claims = jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"])

    assert claims["token_type"] == "access"
    assert claims["user_id"] == str(users["alice"].pk)
    assert {"exp", "iat", "jti"} <= set(claims)
