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
# ← [01_sync_django](01_sync_django.ipynb) ·
# [step 02](../step02_channels_websockets/README.md) ·
# [03_jwt_middleware](03_jwt_middleware.ipynb) →

# %% [markdown]
# # Step 02: Django Channels, ASGI and WebSockets
#
# Companion of the talk "From sync Django to real-time Django Channels", for the code in
# `step02_channels_websockets/`. Run it top to bottom: it needs no internet and takes well
# under a minute.
#
# You will see how Channels is built today compared with Channels 1, what the ASGI
# contract (`scope`, `receive`, `send`) looks like, how this step's chat socket behaves
# when you talk to it, and how sync and async code call each other, including what happens
# when async code blocks its event loop.

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
# that guard with `DJANGO_ALLOW_ASYNC_UNSAFE`.
#
# The database is a fresh SQLite file in a temporary folder, chosen before
# `django.setup()`, so the notebook never touches the `db.sqlite3` you use with
# `runserver`. It is a file, not SQLite in memory, because the consumer reaches the ORM
# from worker threads (`database_sync_to_async`), each with its own connection, and an
# in-memory SQLite database is private to the one connection that created it: the
# socket's session middleware and the consumer would find no tables at all.
#
# The settings read `REDIS_URL` when they are imported; the helper removes it from the
# environment first, so the channel layer is the in-memory one.
#
# The helper also gives the notebook `show_source(obj)` and `show_file(path)`, which print
# code read from the step's files at run time, so what you see here is what runs.

# %%
from django.conf import settings
from workshop_notebook import REPO, set_up_django, show_file, show_source

set_up_django("step02_channels_websockets")
print("channel layer:", settings.CHANNEL_LAYERS["default"]["BACKEND"])

# %% [markdown]
# ## 1. Channels 1 and Channels 2+
#
# Channels has had two designs. Knowing the first one helps when you read old blog posts
# and answers: their `runworker`, `reply_channel` and `Group(...).send` belong to it.
#
# ### Channels 1: an interface server, a channel layer, workers
#
# In Channels 1 (1.0.0 was released on 2017-01-08, per Channels' changelog,
# https://github.com/django/channels/blob/main/CHANGELOG.txt), a deployment had three
# parts (Channels 1.x documentation, "Deploying"): a channel backend, interface servers
# and worker servers. The interface server, Daphne, held the browsers' connections and
# turned every event into a message on the channel layer, usually Redis. Worker processes
# (`manage.py runworker`) took those messages off the layer and ran the consumers; an
# answer went back through the layer to Daphne on the connection's reply channel.

# %%
from IPython.display import SVG, display

FIGURES = REPO / "notebooks" / "figures"
display(SVG(filename=FIGURES / "channels1_architecture.svg"))

# %% [markdown]
# ### Channels 2 and later: the application runs inside the server
#
# Channels 2.0.0 (2018-02-01, per the same changelog) was a rewrite. Its release notes say:
# "Data is no longer transported over a channel layer between protocol server and
# application; instead, applications run inside their protocol servers (like with WSGI)",
# and that the core is "built around Python's `asyncio`"
# (https://channels.readthedocs.io/en/latest/releases/2.0.0.html).
#
# This is the design of Channels 4, which this workshop uses. Daphne loads the ASGI
# application of `config/asgi.py` and calls it for each connection; a consumer is an
# instance created for one connection, and an async consumer like this step's runs in
# Daphne's event loop. The channel layer is now optional: it is how consumers talk to each
# other, for instance to broadcast a message to a group, including consumers in another
# server process. The in-memory layer this notebook uses works inside one process only;
# Redis (channels-redis) joins several.

# %%
display(SVG(filename=FIGURES / "channels2_architecture.svg"))

# %% [markdown]
# ## 2. The ASGI contract
#
# Here is the step's entry point, `config/asgi.py`. Daphne calls `application` for every
# connection. `ProtocolTypeRouter` sends HTTP to Django and WebSockets through the Origin
# check and the session middleware to the URL router of `config/routing.py`.

# %%
show_file("config/asgi.py")

# %%
show_file("config/routing.py")

# %% [markdown]
# An ASGI application is an `async` callable with three arguments
# (https://asgi.readthedocs.io/en/latest/specs/main.html):
#
# - `scope`: a dictionary describing the connection, built once when it opens: its
#   `type` (`"http"`, `"websocket"`), path, query string, headers, and whatever the
#   middleware adds on the way in.
# - `receive`: an awaitable that gives the next event from the client, as a dictionary
#   whose `type` says what happened (`websocket.connect`, `websocket.receive`,
#   `websocket.disconnect`).
# - `send`: an awaitable that takes a dictionary to send to the client
#   (`websocket.accept`, `websocket.send`, `websocket.close`).
#
# One call of the application lasts as long as the connection: for a WebSocket, minutes
# or hours. WSGI's call, by contrast, lasts one request.

# %% [markdown]
# ### The raw messages, with a hand-written application
#
# Before using this step's consumer, here is a whole WebSocket application in raw ASGI,
# with no Channels class at all. It accepts the connection, answers every text frame in
# capitals, and prints every message it receives and sends.
#
# Channels' `WebsocketCommunicator` plays the part of the server and the browser: it
# builds the scope, sends the events into the application and collects what the
# application sends, with no network.

# %%
from channels.testing import WebsocketCommunicator


async def shouting_app(scope, receive, send):
    """A WebSocket application in raw ASGI: accept, then answer each frame in capitals."""
    print(f"app called with a {scope['type']!r} scope for {scope['path']!r}")
    while True:
        event = await receive()
        print("  app received:", event)
        if event["type"] == "websocket.connect":
            reply = {"type": "websocket.accept"}
        elif event["type"] == "websocket.receive":
            reply = {"type": "websocket.send", "text": event["text"].upper()}
        else:  # websocket.disconnect: the client is gone, there is nobody to answer
            print("  app returns: the connection is over")
            return
        print("  app sends:   ", reply)
        await send(reply)


# %% [markdown]
# Top-level `await` works in Jupyter, which runs every cell in its event loop.

# %%
shouting_socket = WebsocketCommunicator(shouting_app, "/shout/")
print("client: connect() returned", await shouting_socket.connect())
await shouting_socket.send_to(text_data="hello, asgi")
print("client: received", repr(await shouting_socket.receive_from()))
await shouting_socket.disconnect()

# %% [markdown]
# Five message types make the whole conversation: `websocket.connect` (a client knocks),
# `websocket.accept` (the application lets it in), `websocket.receive` (a frame from the
# client), `websocket.send` (a frame to the client) and `websocket.disconnect` (the
# client has gone). Everything Channels adds (consumers, routing, middleware) is built on
# these (https://asgi.readthedocs.io/en/latest/specs/www.html#websocket).

# %% [markdown]
# ### This step's application
#
# The consumer behind `/ws/conversations/<room_id>/` is `RoomConversationConsumer`. It
# accepts a logged-in member of the room and puts the socket in the room's group; its
# `receive_json` validates a frame, saves the message and sends it to the group. The
# parent class `AsyncBaseConsumer` turns a frame it cannot read into an error frame.

# %%
from chat.consumers import AsyncBaseConsumer, RoomConversationConsumer

show_source(RoomConversationConsumer.connect)
show_source(RoomConversationConsumer.receive_json)
show_source(RoomConversationConsumer.chat_message)

# %%
show_source(AsyncBaseConsumer.receive)

# %% [markdown]
# A browser opening the socket sends two headers that matter here: its session cookie,
# which `AuthMiddlewareStack` turns into `scope["user"]`, and `Origin`, which
# `AllowedHostsOriginValidator` compares with `ALLOWED_HOSTS`. We make the same cookies as
# the step's tests do, with Django's test client and `force_login`, which creates a
# session in the database without a password.

# %%
from django.contrib.auth import get_user_model
from django.test import Client

from chat.models import Room
from config.asgi import application

User = get_user_model()
alice, bob, carol = (User.objects.get(username=name) for name in ("alice", "bob", "carol"))
lobby = Room.objects.get(name="Lobby")
alice_and_bob = Room.objects.get(name="Alice & Bob")
ORIGIN = b"http://127.0.0.1:8000"


def session_cookie(user):
    """The Cookie header a browser logged in as `user` would send."""
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


cookies = {user: session_cookie(user) for user in (alice, bob, carol)}


async def open_socket(room, user=None):
    """A communicator on the room's socket, as `user` (None: anonymous), after connect()."""
    headers = [(b"origin", ORIGIN)]
    if user is not None:
        headers.append((b"cookie", cookies[user]))
    socket = WebsocketCommunicator(application, f"/ws/conversations/{room.id}/", headers=headers)
    accepted, detail = await socket.connect(timeout=10)
    print(f"{user or 'anonymous'} on {room.name!r}: connect() returned ({accepted}, {detail})")
    return socket


# %% [markdown]
# ### alice connects, and the scope her consumer saw
#
# To see the scope that reaches the consumer, we lend `RoomConversationConsumer.connect`
# a spy for one connection: it records `self.scope`, then runs the real `connect`. The
# application is the step's own `config.asgi.application`.

# %%
from unittest import mock

consumer_scopes = []
real_connect = RoomConversationConsumer.connect


async def remember_scope_then_connect(consumer):
    consumer_scopes.append(consumer.scope)
    await real_connect(consumer)


with mock.patch.object(RoomConversationConsumer, "connect", remember_scope_then_connect):
    alice_socket = await open_socket(lobby, alice)

# %% [markdown]
# `(True, None)`: accepted, with no subprotocol chosen. The scope the communicator built,
# playing the server, and the scope the consumer received:


# %%
def short(value, width=72):
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


print("the scope the server built:")
for key, value in alice_socket.scope.items():
    print(f"  {key:15} {short(value)}")

consumer_scope = consumer_scopes[0]
print("\nthe scope the consumer saw:")
for key, value in consumer_scope.items():
    print(f"  {key:15} {short(value)}")

added = [key for key in consumer_scope if key not in alice_socket.scope]
print("\nadded on the way in:", added)
print("scope['user']:", consumer_scope["user"])
print("scope['url_route']:", consumer_scope["url_route"])

# %% [markdown]
# The middleware of `config/asgi.py` added `cookies`, `session` and `user` (the session
# cookie, read from the database), and the URL router added `path_remaining` and
# `url_route`, where the consumer finds `room_id`. Daphne's scope has a few more keys than
# the test communicator's: `raw_path`, `root_path`, and `client` and `server`, the
# addresses of the two ends.

# %% [markdown]
# ### A message reaches every socket of the room
#
# bob opens the Lobby too. alice sends a frame; the consumer saves the message and sends
# it to the room's group on the channel layer, so both sockets receive it, alice's
# included.

# %%
bob_socket = await open_socket(lobby, bob)

await alice_socket.send_json_to({"type": "message", "text": "Hello from the notebook!"})
print("alice received:", await alice_socket.receive_json_from(timeout=5))
print("bob received:  ", await bob_socket.receive_json_from(timeout=5))
print("nothing more for bob:", await bob_socket.receive_nothing(timeout=0.2))

# %% [markdown]
# ### A bad frame gets an error frame, and the socket lives on
#
# A frame that is not JSON, and one that is JSON but not a message. Each gets an error
# frame, nothing is stored, and the next good frame goes through as before.

# %%
await alice_socket.send_to(text_data="{oops")
print("not JSON ->   ", await alice_socket.receive_json_from(timeout=5))

await alice_socket.send_json_to({"type": "message"})
print("no text ->    ", await alice_socket.receive_json_from(timeout=5))

await alice_socket.send_json_to({"type": "message", "text": "Still here."})
print("good frame -> ", await alice_socket.receive_json_from(timeout=5))
print("bob received: ", await bob_socket.receive_json_from(timeout=5))

# %% [markdown]
# ### Refused at the handshake
#
# An anonymous visitor, and carol in "Alice & Bob", a room she is not a member of. The
# consumer closes before it accepts; the communicator reports `(False, 1000)`, and a real
# server such as Daphne answers such a handshake with HTTP 403.

# %%
anonymous_socket = await open_socket(lobby)
carol_socket = await open_socket(alice_and_bob, carol)
await anonymous_socket.disconnect()
await carol_socket.disconnect()

# %% [markdown]
# Always disconnect a communicator: it ends the consumer's task, which leaves the group.

# %%
await alice_socket.disconnect()
await bob_socket.disconnect()

# %% [markdown]
# ## 3. Sync and async code, and how to cross
#
# A Channels project has both kinds of code, and each runs in its own place:
#
# | | sync code (`def`) | async code (`async def`) |
# |---|---|---|
# | runs | in a thread | in the event loop: one thread for every connection |
# | a blocking call stops | that thread only | every connection of the process |
# | in this step | the ORM, the API views, `post_message` | Channels' middleware, the consumers |
# | to call the other kind | `async_to_sync` | `sync_to_async`, `database_sync_to_async` |
#
# Sync code calls a coroutine function with `async_to_sync(coroutine_function)(...)`, as
# `send_message_to_room` does. Async code calls a sync function with
# `await sync_to_async(function)(...)`, or with `database_sync_to_async` for the ORM, as the
# consumer's `is_member` and `save_message` do (they are decorated with it).
#
# `database_sync_to_async` (from `channels.db`) is `sync_to_async` that also closes stale
# database connections before and after the call, as Django does around each request.
# Django's own ASGI handler runs a sync view through `sync_to_async` for you.

# %% [markdown]
# ### From async to sync: `sync_to_async` runs the function in a thread

# %%
import threading

from asgiref.sync import async_to_sync, sync_to_async
from channels.db import database_sync_to_async


def where_am_i():
    return threading.current_thread().name


print("this cell runs in thread:                 ", where_am_i())
print("sync_to_async ran the function in:        ", await sync_to_async(where_am_i)())
print("database_sync_to_async ran the function in:", await database_sync_to_async(where_am_i)())

# %% [markdown]
# Both ran in the same thread. By default (`thread_sensitive=True`) such calls go to one
# single thread, one after the other, because parts of Django are not safe to run in
# several threads at once. Django's ASGI handler gives each HTTP request a thread of its
# own (a `ThreadSensitiveContext`); Channels' consumers get none, so the
# `database_sync_to_async` calls of all the consumers of a process share that one thread.
# Three calls that each sleep 0.2 s, started together:

# %%
import asyncio
import time

for thread_sensitive in (True, False):
    sleepy = sync_to_async(time.sleep, thread_sensitive=thread_sensitive)
    started = time.perf_counter()
    await asyncio.gather(sleepy(0.2), sleepy(0.2), sleepy(0.2))
    print(f"thread_sensitive={thread_sensitive}: {time.perf_counter() - started:.2f} s")

# %% [markdown]
# ### From sync to async: `async_to_sync`
#
# Sync code, here a function run in a thread by `sync_to_async` as Django runs a sync view
# under ASGI, calls a coroutine function with `async_to_sync`. The coroutine runs back on
# the event loop that made the outer call: this notebook's loop, in its main thread.

# %%
notebook_loop = asyncio.get_running_loop()


async def where_am_i_async():
    return where_am_i(), asyncio.get_running_loop() is notebook_loop


def sync_code_calling_async():
    """Sync code reaching async code, as a sync view does."""
    print("sync code runs in thread:", where_am_i())
    coroutine_thread, on_notebook_loop = async_to_sync(where_am_i_async)()
    print("the coroutine ran in thread:", coroutine_thread)
    print("on the notebook's event loop:", on_notebook_loop)


await sync_to_async(sync_code_calling_async)()

# %% [markdown]
# `async_to_sync` cannot be called in the thread where an event loop is running, such as
# the thread of this cell: it would have to wait for the loop that is busy waiting for it.
# It refuses:

# %%
try:
    async_to_sync(where_am_i_async)()
except RuntimeError as error:
    print("RuntimeError:", error)

# %% [markdown]
# This step crosses in that direction once. The REST API view is sync; after saving a
# message it calls `send_message_to_room`, which reaches the async channel layer with
# `async_to_sync`:

# %%
from chat.services import send_message_to_room

show_source(send_message_to_room)

# %% [markdown]
# So a message posted through the API reaches the open sockets too. bob has the Lobby
# open; alice posts with the REST API. The view is sync, so the notebook calls it through
# `sync_to_async`, as Django's ASGI handler would; called directly in this cell, its
# `async_to_sync` would raise the error above.

# %%
from rest_framework.test import APIClient

if "testserver" not in settings.ALLOWED_HOSTS:  # the test client's host name
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

alice_api = APIClient()
alice_api.force_authenticate(alice)
bob_socket = await open_socket(lobby, bob)

response = await sync_to_async(alice_api.post)(
    f"/api/rooms/{lobby.id}/messages/", {"text": "Posted with the API"}, format="json"
)
print("API answered:", response.status_code, response.json())
print("bob received:", await bob_socket.receive_json_from(timeout=5))
await bob_socket.disconnect()

# %% [markdown]
# ### What blocking the event loop does
#
# Every consumer of a Daphne process shares one event loop. A coroutine that blocks (a
# sync database query, `requests.get`, `time.sleep`) stops all of them until it returns.
#
# To see it, a "heartbeat" task ticks every 50 ms, and we record the time of each tick.
# While it runs, another coroutine pauses for 0.5 s in three ways: `time.sleep(0.5)` in the
# loop (blocking), `await asyncio.sleep(0.5)` (a pause that gives the loop back), and
# `await sync_to_async(time.sleep)(0.5)` (the blocking call moved to a thread). The
# largest gap between two ticks says how long the loop could not run anything else. Each
# way runs three times and the chart shows the median, so that one hiccup of a busy
# machine does not decide the result.

# %%
import statistics
from itertools import pairwise

TICK = 0.05
PAUSE = 0.5


async def heartbeat(ticks, stop):
    while not stop.is_set():
        ticks.append(time.perf_counter())
        await asyncio.sleep(TICK)


async def largest_gap_while(pause):
    """Run the heartbeat, then `pause()`; the largest gap between two ticks, in seconds."""
    ticks, stop = [], asyncio.Event()
    beating = asyncio.create_task(heartbeat(ticks, stop))
    await asyncio.sleep(3 * TICK)  # a few regular ticks first
    await pause()
    await asyncio.sleep(3 * TICK)
    stop.set()
    await beating
    return max(later - earlier for earlier, later in pairwise(ticks))


async def blocking_sleep():
    time.sleep(PAUSE)  # the mistake this cell measures


async def async_sleep():
    await asyncio.sleep(PAUSE)


async def sleep_in_a_thread():
    await sync_to_async(time.sleep)(PAUSE)


pauses = {
    "time.sleep in the loop": blocking_sleep,
    "await asyncio.sleep": async_sleep,
    "await sync_to_async(time.sleep)": sleep_in_a_thread,
}
ROUNDS = 3
largest_gaps = {}  # label -> median over the rounds, in seconds
for label, pause in pauses.items():
    rounds = [await largest_gap_while(pause) for _ in range(ROUNDS)]
    largest_gaps[label] = statistics.median(rounds)
    measured = ", ".join(f"{gap * 1000:.1f}" for gap in rounds)
    print(f"{label:32} largest gap between ticks (ms): {measured}")

# %%
import textwrap

import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6.5, 3.5))
gaps_ms = [gap * 1000 for gap in largest_gaps.values()]
labels = [textwrap.fill(label, 16, break_long_words=False) for label in largest_gaps]
bars = ax.bar(labels, gaps_ms, color=["tab:red", "tab:green", "tab:green"])
ax.bar_label(bars, fmt="%.0f ms")
ax.axhline(TICK * 1000, color="grey", linestyle=":", label=f"tick interval ({TICK * 1000:.0f} ms)")
ax.set_ylabel(f"largest gap between ticks (ms),\nmedian of {ROUNDS}")
ax.set_title(f"A {PAUSE} s pause, three ways: how long the loop stalls")
ax.set_ylim(0, max(gaps_ms) * 1.2)
ax.legend(loc="upper right")
plt.show()

# %% [markdown]
# With `time.sleep` in the loop, the largest gap covers the whole 0.5 s pause: the
# heartbeat could not tick, and in a server no consumer would have received or sent
# anything during that time. The other
# two pauses left the gaps at about one tick interval: `asyncio.sleep` gives the loop back
# while it waits, and `sync_to_async` moves the blocking call to a thread. This is why the
# consumer calls the ORM through `database_sync_to_async` and never directly.

# %% [markdown]
# ## Where it goes next
#
# Here a socket needs a browser's session cookie. Step 03 (`step03_jwt_middleware/`)
# lets other clients in with a JSON Web Token: a middleware of our own,
# `TokenAuthMiddleware` (wrapped as `TokenAuthMiddlewareStack`), reads the token from
# `?token=<access>` or an `Authorization: Bearer` header and puts its user in the scope,
# as `AuthMiddlewareStack` does with the cookie here. It also adds a second socket,
# `/ws/notifications/`, where `NotificationConsumer` sends each user their own
# notifications, which the page still polls for in this step.

# %% [markdown]
# The notebook is done with its temporary database, so the next cell removes it (restart
# the kernel to run the notebook again). The learner's `db.sqlite3` was never opened.

# %%
from workshop_notebook import remove_database

print("removed:", remove_database())

# %% [markdown] tags=["navigation"]
# ← [01_sync_django](01_sync_django.ipynb) ·
# [step 02](../step02_channels_websockets/README.md) ·
# [03_jwt_middleware](03_jwt_middleware.ipynb) →
