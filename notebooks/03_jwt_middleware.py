# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] tags=["navigation"]
# ← [02_channels_websockets](02_channels_websockets.ipynb) ·
# [step 03](../step03_jwt_middleware/README.md) ·
# [04_signals_groups](04_signals_groups.ipynb) →

# %% [markdown]
# # Step 03: a JWT middleware for WebSockets
#
# Companion of the talk "From sync Django to real-time Django Channels", for the code in
# `step03_jwt_middleware/`. Run it top to bottom: it needs no internet and takes well
# under a minute.
#
# In this step the sockets no longer read the browser's session cookie: a client opens
# them with a JSON Web Token (JWT), and a Channels middleware of our own,
# `TokenAuthMiddleware`, turns the token into `scope["user"]`. You will take a token
# apart and check its signature by hand, see the layers a handshake crosses and what each
# puts into the scope, run the talk's Channels 2 middleware on Channels 4 next to this
# step's, and watch the server refuse bad tokens and close a socket whose token expires.

# %% [markdown]
# ## Setting up the step's Django
#
# The next cell sets up the step's Django with `workshop_notebook.py`, the helper module
# beside the notebooks that each of them imports first: it puts the step's folder on
# `sys.path`, so that its project imports (the packages `config`, `chat` and `collector`),
# chooses its settings, prepares a database, runs `django.setup()`, then `migrate` and
# `seed_demo` (which prints the demo's users and rooms). Every step of the workshop uses the
# same package names, so a kernel can load one step only: restart the kernel before you open
# another step's notebook.
#
# Jupyter runs each cell inside an asyncio event loop, and Django refuses to run its
# synchronous ORM where an event loop is running, because a blocking query would stall
# every other task of that loop. Nothing else shares this loop, so the helper lifts
# that guard with `DJANGO_ALLOW_ASYNC_UNSAFE` (section 2 puts it back for one cell, to
# show what it stops).
#
# The database is a fresh SQLite file in a temporary folder, chosen before
# `django.setup()`, so the notebook never touches the `db.sqlite3` you use with
# `runserver`. It is a file, not SQLite in memory, because the middleware and the
# consumers reach the ORM from worker threads (`database_sync_to_async`), each with its own
# connection, and an in-memory SQLite database is private to the one connection that
# created it.
#
# The settings read `REDIS_URL` when they are imported; the helper removes it from the
# environment first, so the channel layer is the in-memory one.
#
# The helper also gives the notebook `show_source(obj)` and `show_file(path)`, which print
# code read from the step's files (or, for Channels itself, from the installed package) at
# run time, so what you see here is what runs.

# %%
from django.conf import settings
from workshop_notebook import REPO, set_up_django, show_file, show_source

set_up_django("step03_jwt_middleware")
print("channel layer:", settings.CHANNEL_LAYERS["default"]["BACKEND"])

# %% [markdown]
# The demo's users and rooms, as `seed_demo` made them: alice, bob and carol are all in
# the Lobby; only alice and bob are in "Alice & Bob".

# %%
from django.contrib.auth import get_user_model

from chat.models import Room

User = get_user_model()
alice, bob, carol = (User.objects.get(username=name) for name in ("alice", "bob", "carol"))
lobby = Room.objects.get(name="Lobby")
alice_and_bob = Room.objects.get(name="Alice & Bob")
for room in (lobby, alice_and_bob):
    print(f"room {room.id} {room.name!r}:", ", ".join(u.username for u in room.members.all()))

# %% [markdown]
# ## 1. A token taken apart
#
# `python manage.py token alice` prints an access token for alice. It asks
# djangorestframework-simplejwt for a pair (a refresh token and its access token), as the
# login endpoint `/api/token/` does for a script after checking the password. (The page
# gets an access token only, from `/api/token/session/` with its session; section 4 says
# why.)

# %%
from chat.management.commands.token import Command as TokenCommand

show_source(TokenCommand.handle)

# %% [markdown]
# The notebook does the same:

# %%
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

refresh = RefreshToken.for_user(alice)
token = str(refresh.access_token)
print(token)

# %% [markdown]
# A JWT is three parts joined by dots: a header, the claims (the "payload") and a
# signature. The first two are JSON, encoded in base64url (base64 with `-` and `_`
# instead of `+` and `/`, and without the `=` padding, so that it fits in a URL). Decoding
# them needs no key at all:

# %%
import base64
import json


def base64url_decode(part):
    """Bytes from a base64url string without its '=' padding."""
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


header_part, claims_part, signature_part = token.split(".")
header = json.loads(base64url_decode(header_part))
claims = json.loads(base64url_decode(claims_part))
print("header:", header)
print("claims:", json.dumps(claims, indent=2))

# %% [markdown]
# The header names the signing algorithm: HS256, HMAC with SHA-256. The claims are
# simplejwt's:
#
# - `token_type`: `"access"`. A refresh token says `"refresh"`; the sockets and the REST
#   API accept only access tokens.
# - `iat` (issued at) and `exp` (expires): seconds since 1970-01-01 UTC, whole seconds.
# - `jti`: a random id, unique to this token (simplejwt's optional blacklist uses it;
#   this step does not enable the blacklist).
# - `user_id`: alice's primary key, written as a string.

# %%
from datetime import UTC, datetime

for claim in ("iat", "exp"):
    moment = datetime.fromtimestamp(claims[claim], UTC)
    print(f"{claim}: {claims[claim]} = {moment:%Y-%m-%d %H:%M:%S} UTC")
print("lifetime:", claims["exp"] - claims["iat"], "seconds")
print("settings.SIMPLE_JWT['ACCESS_TOKEN_LIFETIME']:", settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"])

# %% [markdown]
# Anyone who holds the token can read all of this: the cell above used no key. A JWT
# signed this way is not encrypted. So a token must never carry a secret, nor anything
# about the user you would not show to whoever gets hold of it (through a log, a proxy, a
# screenshot): a user id is fine, a password or a private detail is not.
#
# What is protected is the signature. It is HMAC-SHA256 of the first two parts exactly as
# they are written, `header.claims` (the base64url text, dot included), computed with a
# key only the server knows. simplejwt's defaults, which this step keeps, sign with
# Django's `SECRET_KEY`. The notebook recomputes the signature with the standard library:

# %%
import hashlib
import hmac

from rest_framework_simplejwt.settings import api_settings

print("algorithm:", api_settings.ALGORITHM)
print("signing key is settings.SECRET_KEY:", api_settings.SIGNING_KEY == settings.SECRET_KEY)

signing_input = f"{header_part}.{claims_part}".encode()
digest = hmac.new(settings.SECRET_KEY.encode(), signing_input, hashlib.sha256).digest()
recomputed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
print("the token's signature:", signature_part)
print("recomputed:           ", recomputed)
print("equal:", hmac.compare_digest(recomputed, signature_part))

# %% [markdown]
# So the claims can be read but not changed. Here alice's token gets bob's id, with the
# signature left as it was; without the key nobody can compute the signature that would
# match the new claims, and simplejwt refuses the token:

# %%
from rest_framework_simplejwt.exceptions import TokenError


def base64url_encode(data):
    """The base64url text, without '=' padding, of a JSON object."""
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


claims_of_bob = base64url_encode({**claims, "user_id": str(bob.pk)})
changed_token = f"{header_part}.{claims_of_bob}.{signature_part}"
try:
    AccessToken(changed_token)
except TokenError as error:
    print("TokenError:", error)

# %% [markdown]
# ### Verifying a token
#
# This is the server's side. simplejwt's `AccessToken(token)` decodes the token, checks
# its signature and its `exp`, and checks that it has a `jti` and that `token_type` is
# `"access"`. Underneath, simplejwt uses PyJWT, which can check the signature and the
# expiry on its own. PyJWT's `algorithms` argument is required: the server says which
# algorithm it accepts, so a token cannot pick one for itself (such as `none`, no
# signature at all).

# %%
import jwt

print("simplejwt:", AccessToken(token).payload)
print("PyJWT:    ", jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"]))

# %% [markdown]
# ### Expiry
#
# `set_exp(lifetime=...)` gives a token another lifetime; here 2 seconds. simplejwt
# writes `exp` in whole seconds, dropping the fraction, so this token lives between 1 and
# 2 seconds. It is checked at once, then again once its `exp` has passed (the cell waits
# for it: the point here is time passing).

# %%
import time
from datetime import timedelta

short_lived = AccessToken.for_user(alice)
short_lived.set_exp(lifetime=timedelta(seconds=2))
short_token = str(short_lived)
print(f"now: {time.time():.2f}, exp: {short_lived['exp']}")
print("checked at once: valid, user_id", AccessToken(short_token)["user_id"])

waited = max(0.0, short_lived["exp"] - time.time()) + 0.1
time.sleep(waited)
print(f"waited {waited:.2f} s")
try:
    AccessToken(short_token)
except TokenError as error:
    print("checked again: TokenError:", error)

# %% [markdown]
# Expired or not, its claims are still readable by anyone. PyJWT reads them when told not
# to check the signature (which also skips the expiry check):

# %%
print(jwt.decode(short_token, options={"verify_signature": False}))

# %% [markdown]
# ## 2. The middleware stack
#
# `config/asgi.py` builds the WebSocket side of the application from three layers around
# the consumers. Compared with step 02, `TokenAuthMiddlewareStack` took the place of
# Channels' `AuthMiddlewareStack`, which read the session cookie.

# %%
show_file("config/asgi.py")

# %% [markdown]
# Each layer is an ASGI application that holds the next one. A handshake goes through
# them from the outside in; a layer can refuse it, or add keys to the scope for the
# layers inside:

# %%
from IPython.display import SVG, display

FIGURES = REPO / "notebooks" / "figures"
display(SVG(filename=FIGURES / "middleware_stack.svg"))

# %% [markdown]
# ### What each layer adds, seen live
#
# To watch it, the notebook builds the same stack around a recorder instead of a consumer,
# and puts a spy in front of each layer: a small ASGI application that notes the scope it
# is given, then calls the layer. The recorder notes its scope too, then refuses the
# socket. `WebsocketCommunicator` plays the server and the client, with no network.
# Its headers include an `Origin`: `AllowedHostsOriginValidator` refuses a handshake
# without one.

# %%
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from channels.testing import WebsocketCommunicator
from django.urls import path

from chat.middleware import TokenAuthMiddleware, TokenAuthMiddlewareStack

ORIGIN = (b"origin", b"http://127.0.0.1:8000")


class ScopeRecorder:
    """An ASGI application that keeps the scope it was called with, then refuses the socket."""

    def __init__(self):
        self.scope = None

    async def __call__(self, scope, receive, send):
        self.scope = scope
        await receive()  # websocket.connect
        await send({"type": "websocket.close"})


async def handshake(app, path_and_query, headers=(ORIGIN,)):
    """Open a socket on `app`, then close it; the result of connect()."""
    socket = WebsocketCommunicator(app, path_and_query, headers=list(headers))
    result = await socket.connect(timeout=10)
    await socket.disconnect()
    return result


scopes = {}  # the name of a layer -> the scope that layer was called with


def spy(name, layer):
    """An ASGI application that notes the scope it gets, under `name`, then calls `layer`."""

    async def app(scope, receive, send):
        scopes[name] = scope
        return await layer(scope, receive, send)

    return app


# The stack of config/asgi.py, built from the inside out, a spy in front of each layer.
recorder = ScopeRecorder()
router = spy("URLRouter", URLRouter([path("ws/conversations/<int:room_id>/", recorder)]))
token_layer = spy("TokenAuthMiddleware", TokenAuthMiddleware(router))
stack = spy("AllowedHostsOriginValidator", AllowedHostsOriginValidator(token_layer))

room_path = f"/ws/conversations/{alice_and_bob.id}/"
# The recorder refuses every socket, hence connect()'s False.
print("connect() returned", await handshake(stack, f"{room_path}?token={token}"))

# %%
from itertools import pairwise

scopes["the consumer"] = recorder.scope
names = list(scopes)
print("the server's scope:", ", ".join(scopes[names[0]]))
for outer, inner in pairwise(names):
    added = sorted(set(scopes[inner]) - set(scopes[outer]))
    copied = "a copy" if scopes[inner] is not scopes[outer] else "the same dict"
    print(f"{outer} added: {', '.join(added) or 'nothing'} (passes on {copied})")

# %% [markdown]
# The Origin check adds nothing: it lets the handshake through or refuses it. The token
# middleware added `user` and `token`, the router `url_route` (where the consumer finds
# `room_id`) and `path_remaining`. Both copy the scope before adding to it, so the scope
# the server built is never changed. What the consumer sees:

# %%
scope = recorder.scope
print("scope['url_route']:     ", scope["url_route"])
print("type(scope['user']):    ", type(scope["user"]))
print("it stands for:          ", repr(scope["user"]._wrapped))
print("username, authenticated:", scope["user"].username, scope["user"].is_authenticated)
print("isinstance(..., User):  ", isinstance(scope["user"], User))
print("type(scope['token']):   ", type(scope["token"]))
print("scope['token'] claims:  ", scope["token"].payload)

# %% [markdown]
# `scope["token"]` is the validated token itself; the consumer reads its `exp` to close
# the socket when it expires (section 4).
#
# ### `UserLazyObject`: a user that can be filled in later
#
# `scope["user"]` is not alice's `User` object but a `channels.auth.UserLazyObject`, a
# Django `LazyObject`: a stand-in that passes every attribute to the object in its
# `_wrapped` (so `isinstance` and `.username` answer as for alice). Read before
# `_wrapped` is set, it raises instead of answering:

# %%
from channels.auth import UserLazyObject

placeholder = UserLazyObject()
try:
    print("is_authenticated:", placeholder.is_authenticated)
except ValueError as error:
    print("before it is resolved: ValueError:", error)

placeholder._wrapped = alice
print("after:", placeholder.username, placeholder.is_authenticated)

# %% [markdown]
# It lets a middleware put "the user" into the scope before the database has said who
# that is. In Channels 2, that was required: a middleware's `__call__(scope)` was sync; it
# ran `populate_scope` and created the inner application with that scope at once, and the
# lookup, async, ran later (`resolve_scope`), before the first event reached the consumer.
# The placeholder stood in for the user meanwhile, and refused to be read too early.
#
# Since Channels 3 a middleware is a single `async __call__` that finishes the lookup
# before it calls the next layer, so here the placeholder is never seen unresolved. This
# step keeps it for two reasons: it keeps the talk's two methods, and Channels' own
# `AuthMiddleware` puts the same type in the scope, so code written against one works
# with the other.
#
# This step's middleware, its two methods run by its own `__call__`:

# %%
show_source(TokenAuthMiddleware)

# %% [markdown]
# The token comes from the `Authorization` header if there is one (scripts, other
# servers), else from `?token=` (a browser's `WebSocket` cannot set headers). Checking it
# is left entirely to simplejwt's `JWTAuthentication`: signature, algorithm, expiry,
# token type, and a user that exists and is active.

# %%
from chat.middleware import raw_token, user_and_token

show_source(raw_token)
show_source(user_and_token)

# %% [markdown]
# ### `database_sync_to_async`: the lookup runs in a thread
#
# `get_user` reads the database, and Django's ORM is synchronous: a query blocks the
# thread that runs it until the database answers. The middleware runs in the server's
# event loop, where a blocking query would stall every connection of the process, so
# Django refuses to run the ORM there. The notebook turns that guard back on for one cell
# to show it, then runs the same lookup the way `user_and_token` does:

# %%
import os
from unittest import mock

from channels.db import DatabaseSyncToAsync, database_sync_to_async
from django.core.exceptions import SynchronousOnlyOperation


def alice_from_the_database():
    return User.objects.get(username="alice")


with mock.patch.dict(os.environ):
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]  # Django's guard is back, for this cell
    try:
        alice_from_the_database()
    except SynchronousOnlyOperation as error:
        print("in the event loop:", type(error).__name__, "-", error)
    print("in a thread:", await database_sync_to_async(alice_from_the_database)())

# %% [markdown]
# `database_sync_to_async` is asgiref's `sync_to_async` (notebook 02 shows it at work)
# with one addition: around each call it closes the database connections Django considers
# stale (broken, or older than `CONN_MAX_AGE`). Django does that itself at the start and
# end of every HTTP request; a socket can stay open for hours with no request around it,
# so the consumers and this middleware get it from here:

# %%
show_source(DatabaseSyncToAsync.thread_handler)

# %% [markdown]
# ## 3. The talk's middleware on Channels 4
#
# The talk's `TokenAuthMiddleware`, as kept in `chat/talk_channels2.py` (the token lookup
# is this step's, so that only the pattern differs), and its stack, which put it, inside
# Channels' session layers, in front of the URL router:

# %%
from chat import talk_channels2

show_source(talk_channels2.TokenAuthMiddleware)
show_source(talk_channels2.TokenAuthMiddlewareStack)

# %% [markdown]
# It implements only the two hooks. In Channels 2, `BaseMiddleware` called them for every
# connection. Here is `BaseMiddleware.__call__` of the Channels installed in this
# environment, its only method besides `__init__`:

# %%
import channels
from channels.auth import AuthMiddleware
from channels.middleware import BaseMiddleware

print("channels", channels.__version__)
show_source(BaseMiddleware.__call__)

# %% [markdown]
# It copies the scope and calls the inner application: neither hook is called. Channels'
# own `AuthMiddleware` still has the two hooks, and its own `__call__` runs them; this
# step's `TokenAuthMiddleware.__call__` (above) does the same:

# %%
show_source(AuthMiddleware.__call__)

# %% [markdown]
# Both stacks, given alice's valid token, around the recorder:


# %%
async def scope_through(middleware, path_and_query):
    """The scope an application wrapped in `middleware` is called with."""
    scope_recorder = ScopeRecorder()
    await handshake(middleware(scope_recorder), path_and_query)
    return scope_recorder.scope


stacks = {
    "the talk's stack": talk_channels2.TokenAuthMiddlewareStack,
    "this step's stack": TokenAuthMiddlewareStack,
}
for label, middleware in stacks.items():
    seen = await scope_through(middleware, f"/ws/?token={token}")
    user = seen.get("user", "(no 'user' key at all)")
    print(f"{label:18} scope['user']: {user}; 'token' in scope: {'token' in seen}")

# %% [markdown]
# Behind the talk's stack the token was never read and the scope has no user at all, not
# even an anonymous one: its session layers set `scope["session"]`, never a user. The
# middleware raised nothing and logged nothing: the failure shows up one layer further in,
# in the first consumer that asks for `scope["user"]`.
#
# Now a real socket on alice's room, with her valid token: first through the talk's stack
# around the step's URL router and consumers, then through the step's
# `config.asgi.application`.

# %%
from config.asgi import application
from config.routing import websocket_urlpatterns

talk_application = talk_channels2.TokenAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
room_with_token = f"/ws/conversations/{alice_and_bob.id}/?token={token}"
try:
    print("the talk's stack:       ", await handshake(talk_application, room_with_token))
except KeyError as error:
    print(f"the talk's stack:        the consumer raised KeyError({error})")
print("config.asgi.application:", await handshake(application, room_with_token))

# %% [markdown]
# With the talk's stack the consumer fails with `KeyError: 'user'` (under Daphne, a traceback
# in the server's log and HTTP 500 for the handshake), and the traceback ends in the
# consumer, not in the middleware that forgot to set the user. `(True, None)`: accepted.
# This step's middleware differs from the talk's by the `__call__` that runs the two hooks,
# and its stack by the session layers it drops: nothing on a socket reads the session.

# %% [markdown]
# ## 4. Refused handshakes, live
#
# Now hostile tokens against the step's whole application, `config.asgi.application`, on
# the room "Alice & Bob":
#
# - a forged token: alice's claims, signed by PyJWT with another key, as an attacker
#   without the server's key would;
# - an expired token (its `exp` a minute ago);
# - carol's valid token: she is not a member of that room;
# - alice's valid token with a foreign `Origin`;
# - and, for contrast, alice's valid token.
#
# The step's tests (`tests/test_token_auth.py`) run the README's whole catalogue: a token
# changed by one character, `alg: none`, a refresh token, an inactive or deleted user,
# malformed headers, on both socket URLs.

# %%
forged = jwt.encode(
    AccessToken.for_user(alice).payload,
    "not-this-servers-key-but-long-enough-for-hs256",
    algorithm="HS256",
)
expired = AccessToken.for_user(alice)
expired.set_exp(lifetime=timedelta(seconds=-60))


async def open_socket(label, room, token, origin=ORIGIN):
    """A communicator on the room's socket with `token` in the query, after connect()."""
    socket = WebsocketCommunicator(
        application, f"/ws/conversations/{room.id}/?token={token}", headers=[origin]
    )
    accepted, detail = await socket.connect(timeout=10)
    print(f"{label:32} connect() returned ({accepted}, {detail})")
    return socket


sockets = [
    await open_socket("forged (another key)", alice_and_bob, forged),
    await open_socket("expired", alice_and_bob, str(expired)),
    await open_socket("carol, not a member", alice_and_bob, str(AccessToken.for_user(carol))),
    await open_socket(
        "alice, from evil.example", alice_and_bob, token, (b"origin", b"http://evil.example")
    ),
    await open_socket("alice, valid", alice_and_bob, token),
]
for socket in sockets:
    await socket.disconnect()

# %% [markdown]
# `(False, 1000)` means the application closed the socket before accepting it.
# `WebsocketCommunicator` reports that as `False` with the close code (1000 when none is
# given); a real server answers such a handshake with HTTP 403 and never completes it, as
# the ASGI specification requires
# (https://asgi.readthedocs.io/en/latest/specs/www.html#close-send-event). A browser sees
# a failed connection, a script such as the README's `websockets` client an
# `InvalidStatus` with the 403.
#
# Where each was refused: the foreign `Origin` by `AllowedHostsOriginValidator`, before
# any token was read. The forged and the expired tokens failed simplejwt's checks, so the
# middleware put `AnonymousUser` in the scope. carol's token is valid, but the room
# consumer found no group for her. Both of those are decided in `AsyncBaseConsumer`:

# %%
from chat.consumers import AsyncBaseConsumer, RoomConversationConsumer

show_source(AsyncBaseConsumer.websocket_connect)
show_source(AsyncBaseConsumer.connect)
show_source(RoomConversationConsumer.resolve_groups)

# %% [markdown]
# ### An open socket, closed with 4401 when its token expires
#
# A token is checked once, at the handshake; a socket can stay open much longer than its
# token lives. So `connect` starts a timer that closes the socket with code 4401 at the
# token's `exp` (codes 4000 to 4999 are free for applications, RFC 6455 section 7.4.2;
# 4401 reads as HTTP's 401). The page then asks `POST /api/token/session/` for a new access
# token and reconnects. It holds no refresh token: its session, the one logging out ends,
# buys each new token, so a page logged out (in any tab) gets 403 there, asks the person to
# log in again, and its sockets are closed at the latest when their token expires.

# %%
show_source(AsyncBaseConsumer.close_when_expired)

# %% [markdown]
# A socket opened with a 2-second token, which then sends nothing: the server closes it
# on its own.

# %%
from chat.consumers import TOKEN_EXPIRED

brief = AccessToken.for_user(alice)
brief.set_exp(lifetime=timedelta(seconds=2))
socket = await open_socket("alice, a 2-second token", alice_and_bob, str(brief))
closing = await socket.receive_output(timeout=5)
closed_at = time.time()
print("the server sent:", closing)
print("code is TOKEN_EXPIRED:", closing.get("code") == TOKEN_EXPIRED)
print(f"closed {closed_at - brief['exp']:+.3f} s after the token's exp")
await socket.disconnect()

# %% [markdown]
# ## 5. Where the token travels, and what the Origin check still does
#
# **The query string.** A browser's `WebSocket` cannot set an `Authorization` header, so
# the page opens `?token=<access>`. URLs get written down in more places than headers:
# Daphne's own log lines leave the query string out, but a proxy in front usually logs the
# whole request line (nginx's default `combined` format does). A WebSocket URL is not a
# navigation, so it is not in the browser's history and is not sent as a `Referer`. What
# limits the damage is the token's short life: 5 minutes (`JWT_ACCESS_SECONDS`), and the
# socket closes when it expires, as you just saw.
#
# **The alternatives.** A *one-time ticket*: the page asks an authenticated endpoint for a
# random ticket valid for a few seconds and one use, and opens `?ticket=...`; a logged
# ticket is worthless, at the cost of state on the server and one more request per
# connection. The *`Sec-WebSocket-Protocol` header*: `new WebSocket(url, ["jwt", token])`
# puts the token in a header a page may set, and the server must answer with one of the
# offered protocols; it keeps the token out of the URL but bends a header meant for
# protocol names, and some proxies log it too. A *cookie*: the browser sends it with the
# handshake by itself, as step 02's session did; an `HttpOnly` cookie is out of reach of
# the page's scripts, but it is sent even when another site's page opens the socket.
#
# **This step's choice** is the query string: it works from every client, it is the
# talk's choice, Daphne does not log it, and the tokens are short-lived. Behind a proxy,
# keep the query strings of `/ws/` out of its logs, or switch to a one-time ticket.
#
# **Is the Origin check still needed?** `AllowedHostsOriginValidator` stops cross-site
# WebSocket hijacking: another site's page opening your socket with credentials the
# browser attaches on its own, which means cookies. A token the page must put into the
# URL itself is not attached by anyone else's page, and the same-origin policy keeps other
# sites from reading it, so here the token, not the Origin check, protects the data. The
# step keeps the check anyway: it costs nothing, it keeps other sites' pages from using
# this server's sockets, and it protects the day someone puts the session back into the
# stack. A script must therefore still send an `Origin` naming an allowed host, as this
# notebook's communicators do.

# %% [markdown]
# ## Where it goes next
#
# Here the API view and the room consumer each send the new message and its notifications
# to the groups themselves, by explicit calls after saving (`send_message_to_room`,
# `send_notifications` in `chat/services.py`). Step 04 (`step04_signals_groups/`) moves
# that into `post_save` signals: every saved message and notification is sent to its
# groups once the transaction commits, whatever saved it (the API, a socket, the admin, a
# management command), and Redis carries the events across processes.

# %% [markdown]
# The notebook is done with its temporary database, so the next cell removes it (restart
# the kernel to run the notebook again). The learner's `db.sqlite3` was never opened.

# %%
from workshop_notebook import remove_database

print("removed:", remove_database())

# %% [markdown] tags=["navigation"]
# ← [02_channels_websockets](02_channels_websockets.ipynb) ·
# [step 03](../step03_jwt_middleware/README.md) ·
# [04_signals_groups](04_signals_groups.ipynb) →
