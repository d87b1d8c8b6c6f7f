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

# %% [markdown]
# # Step 04: signals, groups and Redis
#
# Companion of the talk "From sync Django to real-time Django Channels", for the code in
# `step04_signals_groups/`. Run it top to bottom: it needs no internet and takes well
# under a minute.
#
# In this step the views and the consumers only save; `post_save` signals send every new
# message to its room's sockets once the transaction commits. You will drive a channel
# layer by hand (channels, groups, `group_send`), follow a plain ORM `save()` to a frame on
# a socket, watch the `on_commit` trap happen with and without the step's decorator, and
# see what signals do not catch. When a Redis server answers, the last part reads what
# channels-redis keeps in Redis for a live group, and compares its two layers, `core` and
# `pubsub`; without Redis, that part says what it skips.

# %% [markdown]
# ## Setting up the step's Django
#
# The next cell imports the step's project (the packages `config`, `chat` and `collector`)
# and prepares a database. Every step of the workshop uses the same package names, so a
# kernel can load one step only: restart the kernel before you open another step's notebook.
#
# Jupyter runs each cell inside an asyncio event loop, and Django refuses to run its
# synchronous ORM where an event loop is running, because a blocking query would stall
# every other task of that loop. Nothing else shares this loop, so the notebook lifts
# that guard with `DJANGO_ALLOW_ASYNC_UNSAFE`.
#
# The database is a fresh SQLite file in a temporary folder, chosen before
# `django.setup()`, so the notebook never touches the `db.sqlite3` you use with
# `runserver`. It is a file, not SQLite in memory, because the consumers and the saves of
# this notebook reach the ORM from worker threads, each with its own connection, and an
# in-memory SQLite database is private to the one connection that created it.
#
# The settings read `REDIS_URL` when they are imported. The cell keeps its value (by
# default the local Redis, `redis://127.0.0.1:6379/0`) for section 5, then removes it from
# the environment, so that the channel layer is the in-memory one until section 5 says
# otherwise.

# %%
import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

# The notebook runs from notebooks/ (Jupyter, `make test`) or from the repository's root.
REPO = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
STEP = REPO / "step04_signals_groups"
if str(STEP) not in sys.path:
    sys.path.insert(0, str(STEP))

os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
REDIS_URL = os.environ.pop("REDIS_URL", None) or "redis://127.0.0.1:6379/0"  # for section 5

import django
from django.conf import settings

# Reading a setting loads config/settings.py; changing the database now, before
# django.setup(), means no connection to the step's db.sqlite3 is ever opened.
DATABASE_DIR = Path(tempfile.mkdtemp(prefix="workshop-step04-"))
atexit.register(shutil.rmtree, DATABASE_DIR, ignore_errors=True)
settings.DATABASES["default"]["NAME"] = DATABASE_DIR / "db.sqlite3"
django.setup()

from django.core.management import call_command

call_command("migrate", verbosity=0)
call_command("seed_demo")
print("channel layer:", settings.CHANNEL_LAYERS["default"]["BACKEND"])

# %% [markdown]
# Two small helpers print code. The code they print is read from the step's files (or,
# for Channels itself, from the installed package) at run time, so what you see here is
# what runs.

# %%
import inspect


def show_source(obj):
    """Print a function's or class's source, read from its file, with where it lives."""
    obj = inspect.unwrap(obj)  # a decorated function: the source of the one it wraps
    lines, first_line = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj)).resolve()
    if path.is_relative_to(REPO) and "site-packages" not in path.parts:
        where = path.relative_to(REPO)
    else:
        where = f"{path.name} of the installed package ({obj.__module__})"
    print(f"# {where}, line {first_line}\n")
    print("".join(lines))


def show_file(relative_path):
    """Print one file of the step."""
    print(f"# step04_signals_groups/{relative_path}\n")
    print((STEP / relative_path).read_text())


# %% [markdown]
# The demo's users and rooms, as `seed_demo` made them, and a helper that opens a room's
# socket on the step's whole application, `config.asgi.application`, as notebook 03 did:
# with an access token in `?token=`, and an `Origin` header, because
# `AllowedHostsOriginValidator` refuses a handshake without one. `WebsocketCommunicator`
# plays the server and the browser, with no network.

# %%
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.tokens import AccessToken

from chat.models import Message, Room
from config.asgi import application

User = get_user_model()
alice, bob, carol = (User.objects.get(username=name) for name in ("alice", "bob", "carol"))
lobby = Room.objects.get(name="Lobby")
alice_and_bob = Room.objects.get(name="Alice & Bob")
ORIGIN = (b"origin", b"http://127.0.0.1:8000")


async def open_socket(room, user):
    """A communicator on the room's socket as `user`, with a fresh token, after connect()."""
    path = f"/ws/conversations/{room.id}/?token={AccessToken.for_user(user)}"
    socket = WebsocketCommunicator(application, path, headers=[ORIGIN])
    accepted, _ = await socket.connect(timeout=10)
    print(f"{user.username}'s socket on {room.name!r} (room {room.id}): accepted={accepted}")
    return socket


for room in (lobby, alice_and_bob):
    print(f"room {room.id} {room.name!r}:", ", ".join(u.username for u in room.members.all()))

# %% [markdown]
# ## 1. Groups and channel layers
#
# A consumer serves one socket. To reach the consumers of other sockets (bob's, when
# alice writes), Channels gives each consumer a **channel**, a named mailbox on the
# **channel layer**, and lets it join **groups**: a group is a name for a set of channels,
# and sending to it sends to each of them. The layer's whole API is a handful of
# coroutines: `new_channel()`, `send(channel, event)`, `receive(channel)`,
# `group_add(group, channel)`, `group_discard(group, channel)` and
# `group_send(group, event)`. An event is a dictionary with a `"type"`.
#
# `get_channel_layer()` returns the layer that `settings.CHANNEL_LAYERS` describes; here,
# with no `REDIS_URL`, the in-memory one. The notebook uses it by hand, as a consumer does.

# %%
from channels.layers import get_channel_layer

layer = get_channel_layer()
print("the layer:", type(layer).__module__ + "." + type(layer).__name__)

first = await layer.new_channel()
second = await layer.new_channel()
print("two channels:", first, second)

await layer.group_add("demo", first)
await layer.group_add("demo", second)
await layer.group_send("demo", {"type": "hello", "text": "to both"})
print("first received: ", await layer.receive(first))
print("second received:", await layer.receive(second))

# %% [markdown]
# One `group_send`, one copy of the event in each channel of the group. After
# `group_discard`, a channel hears nothing more from the group; here the second one would
# wait forever, so the cell gives up after half a second.

# %%
import asyncio

await layer.group_discard("demo", second)
await layer.group_send("demo", {"type": "hello", "text": "to the first only"})
print("first received:", await layer.receive(first))
try:
    await asyncio.wait_for(layer.receive(second), timeout=0.5)
except TimeoutError:
    print("second: nothing within 0.5 s")
await layer.group_discard("demo", first)

# %% [markdown]
# The in-memory layer keeps its channels and groups in dictionaries of the process that
# created it. It has the whole API, groups included, but nothing outside this process can
# reach it: not a second Daphne, not a management command. That is what Redis is for
# (section 5).
#
# ### The layer behind the sockets
#
# A consumer uses the layer the same way. When a socket connects, Channels gives its consumer a
# channel (`self.channel_name`) and adds it to each group of `self.groups`, which this
# step's `AsyncBaseConsumer` fills before the handshake: for the room's socket, the group
# `room_<id>`. Then the consumer waits on its channel; an event that arrives there is
# dispatched by its `"type"` to the consumer method of that name (dots become
# underscores). This step sends a single type, `channel_message`, and its handler
# forwards the event's `message` to the client as it is:

# %%
from chat.consumers import AsyncBaseConsumer, RoomConversationConsumer

show_source(RoomConversationConsumer.resolve_groups)
show_source(AsyncBaseConsumer.channel_message)

# %% [markdown]
# Who sends those events? Nobody in the views or the consumers any more: two `post_save`
# receivers, connected when the `chat` app is ready (`ChatConfig.ready()` imports the
# module).

# %%
show_file("chat/signal_handlers.py")

# %% [markdown]
# They call the talk's helpers, in `chat/helpers.py`: `send_message_to_room` makes the
# frame the page expects, and `send_channel_message` wraps it in the `channel_message`
# event and gives it to the layer's `group_send`.

# %%
from chat import helpers

show_source(helpers.send_message_to_room)
show_source(helpers.send_channel_message)

# %% [markdown]
# ### A plain ORM save reaches bob's socket
#
# bob opens the Lobby. The notebook then creates a message with the ORM, as the shell or
# a data fix would, and nothing else: no view, no consumer, no explicit send.
#
# One thing to know first. The receivers are sync code, so `send_channel_message` reaches
# the async layer through `async_to_sync`, which refuses to run in a thread where an event
# loop is running (notebook 02 shows the error), and this cell's thread is one. So every
# save that should broadcast runs in a thread here, with
# `await sync_to_async(Message.objects.create)(...)`, as Django runs a sync view under
# ASGI. `async_to_sync` then runs `group_send` on this notebook's loop, where the
# consumers live.
#
# To see the event itself, and not only the frame bob's client gets, the notebook also
# puts a channel of its own into the Lobby's group, as one more listener.

# %%
from asgiref.sync import async_to_sync, sync_to_async

lobby_group = helpers.room_group_name(lobby.id)
bob_socket = await open_socket(lobby, bob)
listener = await layer.new_channel()
await layer.group_add(lobby_group, listener)

message = await sync_to_async(Message.objects.create)(
    room=lobby, author=alice, text="Saved with the ORM, nothing else"
)
print(f"\nthe event in group {lobby_group!r}:", await layer.receive(listener))
print("\nbob's client received:", await bob_socket.receive_json_from(timeout=5))
print("nothing more for bob:", await bob_socket.receive_nothing(timeout=0.2))
await layer.group_discard(lobby_group, listener)

# %% [markdown]
# The event on the layer is `{"type": "channel_message", "message": frame}`: its `type`
# chose bob's consumer method `channel_message`, which sent `event["message"]`, the frame
# `{"type": "message", "data": {...}}`, to bob's client. The frame is what the page reads;
# the event around it is for Channels only.

# %% [markdown]
# ## 2. From `save()` to a frame on a socket, step by step
#
# What just happened, in the order it happened (the README's "From save() to a frame on a
# socket"):

# %%
from IPython.display import SVG, display

FIGURES = REPO / "notebooks" / "figures"
display(SVG(filename=FIGURES / "save_to_socket.svg"))

# %% [markdown]
# 1. Something saves a `Message`: here `Message.objects.create`; in the app, `post_message`
#    in `chat/services.py` (the API and the socket), the admin, the shell, the
#    `post_message` management command.
# 2. Django sends `post_save`, and `broadcast_message` receives it. Its decorator,
#    `transaction_on_commit`, does not run it yet: it registers it with
#    `transaction.on_commit`.
# 3. The transaction commits (a rollback drops the callback, and nothing is sent). The
#    receiver runs: for a created row it calls `send_message_to_room`, which builds the
#    frame `{"type": "message", "data": ...}` and calls `send_channel_message`.
# 4. `send_channel_message` wraps the frame in the event
#    `{"type": "channel_message", "message": frame}` and gives it to the layer's
#    `group_send`, through `async_to_sync`: the receiver is sync code.
# 5. The layer delivers the event to every channel in the group `room_<id>`: in this
#    process (in memory), or through Redis to every process.
# 6. Each consumer's `channel_message` handler sends the frame to its client as it is.
#
# Step 3 is the decorator's work. Here it is:

# %%
show_source(helpers.transaction_on_commit)

# %% [markdown]
# The `create()` above ran in autocommit mode, outside any transaction: each query commits
# by itself, and `on_commit` then runs the callback at once. Inside `transaction.atomic()`
# it waits, as the next section shows.

# %% [markdown]
# ## 3. The `on_commit` trap, live
#
# `post_save` is sent inside the transaction, before it commits. A receiver that
# broadcast there at once would tell the sockets about a row that may still be rolled
# back (a message that never existed), or that their client cannot read yet.
#
# ### A thread of its own for each transaction
#
# The save of section 1 ran in the one thread that `sync_to_async` uses by default
# (`thread_sensitive=True`, notebook 02 shows it). The consumers use that thread too:
# before every handler, a consumer of the installed Channels closes stale database
# connections there (`aclose_old_connections` is `sync_to_async(close_old_connections)`):

# %%
import channels
from channels.consumer import AsyncConsumer

print("channels", channels.__version__)
show_source(AsyncConsumer.dispatch)

# %% [markdown]
# So while a sync function holds that thread, for instance waiting inside an open
# transaction, no consumer of the process can handle an event: bob's consumer could not
# forward a frame before the function returns, with or without `on_commit`, and a check
# "nothing before the commit" would prove nothing. In a server, an HTTP request's sync
# view runs in a thread of its own (Django's ASGI handler gives each request one), so the
# consumers stay free while it works. The notebook does the same for its transactions:
# `in_its_own_thread` runs a function with `sync_to_async(..., thread_sensitive=False)`,
# in a worker thread with its own database connection, which it closes at the end.

# %%
from django.db import connection, transaction


def in_its_own_thread(func):
    """`func` as a coroutine function that runs in a worker thread, as a request's view does."""

    def run_then_close(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            connection.close()  # the worker thread's own database connection

    return sync_to_async(run_then_close, thread_sensitive=False)


# %% [markdown]
# ### With the step's receivers
#
# A message saved inside `transaction.atomic()`, the way `post_message` saves it. Inside
# the block, the function looks at the callbacks the connection keeps for the commit, and
# checks bob's socket, which lives on the notebook's loop, through `async_to_sync`.


# %%
def save_in_a_transaction(text):
    with transaction.atomic():
        saved = Message.objects.create(room=lobby, author=alice, text=text)
        print(f"saved message {saved.pk}; the transaction is still open")
        waiting = transaction.get_connection().run_on_commit
        print("  callbacks waiting for the commit:", [func.func.__name__ for _, func, _ in waiting])
        heard = not async_to_sync(bob_socket.receive_nothing)(timeout=0.3)
        print("  bob's socket heard of it before the commit:", heard)
    print("committed")


await in_its_own_thread(save_in_a_transaction)("Sent after the commit")
print("bob received:", await bob_socket.receive_json_from(timeout=5))
print("nothing more for bob:", await bob_socket.receive_nothing(timeout=0.2))

# %% [markdown]
# The callback waited in the connection's list (`broadcast_message`, held by the
# decorator's `functools.partial`) and ran at the commit; bob heard of the message once,
# after it. Now a save that is rolled back: an exception leaves the block.


# %%
class RolledBack(Exception):
    """Raised inside a transaction to roll it back."""


def save_then_roll_back(text):
    try:
        with transaction.atomic():
            saved = Message.objects.create(room=lobby, author=alice, text=text)
            print(f"saved message {saved.pk}, then an exception leaves the block")
            raise RolledBack
    except RolledBack:
        print("rolled back")
    return saved.pk


rolled_back_pk = await in_its_own_thread(save_then_roll_back)("Never happened")
print("bob heard nothing:", await bob_socket.receive_nothing(timeout=0.5))
print("the row exists:", await Message.objects.filter(pk=rolled_back_pk).aexists())

# %% [markdown]
# The rollback dropped the callback with the row: no frame.
#
# ### Without `on_commit`
#
# To see the trap, the notebook swaps the step's receiver for an eager one for a moment:
# the same body as `broadcast_message`, but not wrapped by `transaction_on_commit`. It is
# defined here; the step's files are unchanged. `post_save.disconnect` takes the step's
# receiver off by its `dispatch_uid`, and the `finally` clause puts everything back.

# %%
from contextlib import contextmanager

from django.db.models.signals import post_save

from chat.signal_handlers import broadcast_message


def broadcast_message_at_once(sender, instance, created, **kwargs):
    """broadcast_message without @transaction_on_commit: sends inside the transaction."""
    if created:
        helpers.send_message_to_room(instance.room_id, instance)


@contextmanager
def eager_broadcast():
    """For the block only: the eager receiver in place of the step's broadcast_message."""
    post_save.disconnect(sender=Message, dispatch_uid="broadcast_message")
    post_save.connect(broadcast_message_at_once, sender=Message, dispatch_uid="notebook_eager")
    try:
        yield
    finally:
        post_save.disconnect(sender=Message, dispatch_uid="notebook_eager")
        post_save.connect(broadcast_message, sender=Message, dispatch_uid="broadcast_message")


# %% [markdown]
# The same kind of save, rolled back at the end. Inside the block, the function waits for
# bob's frame, then does what a page would do on receiving it: it reads the message from
# the database through another connection, in another worker thread, as the page's
# request `/api/rooms/<id>/messages/?after=...` would.


# %%
def row_exists(pk):
    return Message.objects.filter(pk=pk).exists()


def eager_save_then_roll_back(text):
    try:
        with transaction.atomic():
            saved = Message.objects.create(room=lobby, author=alice, text=text)
            print(f"saved message {saved.pk}; the transaction is still open")
            frame = async_to_sync(bob_socket.receive_json_from)(timeout=5)
            print("  bob received:", frame)
            readable = async_to_sync(in_its_own_thread(row_exists))(saved.pk)
            print("  bob's page could read it now:", readable)
            raise RolledBack
    except RolledBack:
        print("rolled back")
    return saved.pk


with eager_broadcast():
    ghost_pk = await in_its_own_thread(eager_save_then_roll_back)("A message that never existed")
print("the row exists:", await Message.objects.filter(pk=ghost_pk).aexists())

# %% [markdown]
# bob's socket announced a message that, a moment later, never existed, and while it was
# announced, his page could not read it: the transaction had not committed, so no other
# connection could see the row. A page that fetched it on the frame would find nothing;
# a page that shows the frame as it comes shows a message that the next reload makes
# disappear. That is the trap `transaction_on_commit` closes.
#
# The step's receiver is back, and the eager one gone: a committed save reaches bob once,
# after the commit.

# %%
await in_its_own_thread(save_in_a_transaction)("Back to normal")
print("bob received:", (await bob_socket.receive_json_from(timeout=5))["data"]["text"])
print("nothing more for bob:", await bob_socket.receive_nothing(timeout=0.3))

# %% [markdown]
# Look at the ids: SQLite gave the rolled-back rows' id to the next message, so bob's page
# would now know two different messages by the same id, the ghost and this one.
# (PostgreSQL's sequences never hand an id out twice; the ghost would stay all the same.)

# %% [markdown]
# ## 4. What signals cost: the writes they do not see
#
# A receiver runs where no call site shows it: reading `post_message`, nothing says a
# socket will hear of it (`chat/signal_handlers.py` is the one place to look). And not
# every write sends `post_save`: `bulk_create()`, `QuerySet.update()`, raw SQL and
# migrations do not. Here is `bulk_create`, with bob's socket open:

# %%
created = await sync_to_async(Message.objects.bulk_create)(
    [
        Message(room=lobby, author=carol, text="Silent one"),
        Message(room=lobby, author=carol, text="Silent two"),
    ]
)
print("bob heard nothing:", await bob_socket.receive_nothing(timeout=0.5))
print("rows stored:", await Message.objects.filter(pk__in=[m.pk for m in created]).acount())

# %% [markdown]
# Both rows are stored; no socket heard of them, and bob's page will show them only when
# it fetches the messages again (a reload, or a reconnection). That is why `post_message`
# creates each notification with its own `create()` instead of one `bulk_create()`:

# %%
from chat.services import post_message

show_source(post_message)

# %%
await bob_socket.disconnect()

# %% [markdown]
# ## 5. Redis: what channels-redis stores, `core` and `pubsub`
#
# The in-memory layer serves one process. With `REDIS_URL` set, the step's settings use
# channels-redis instead, which every process shares: two Daphnes, the shell, a
# management command. channels-redis has two layers, chosen by `CHANNEL_LAYER`:
# `core` (`RedisChannelLayer`, the default) and `pubsub` (`RedisPubSubChannelLayer`).
# This is the step's function that builds the setting:

# %%
from config.settings import channel_layers_from_env

show_source(channel_layers_from_env)

# %% [markdown]
# This section needs a Redis server. It asks the one at `REDIS_URL` (or the local one),
# and runs only if it answers; otherwise each cell says what it skips. Under `CI=true`
# (the workshop's CI starts a Redis) a missing Redis is an error instead, so that the
# part is not skipped unnoticed.

# %%
import redis


def redis_answers(url):
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.RedisError, ValueError):
        return False


REDIS_OK = redis_answers(REDIS_URL)
SKIPPED = f"skipped: no Redis answers at {REDIS_URL} (start redis-server, or set REDIS_URL)"
if REDIS_OK:
    print(f"Redis answers at {REDIS_URL}: section 5 runs")
elif os.environ.get("CI") == "true":
    raise RuntimeError(f"no Redis answers at {REDIS_URL}; under CI=true section 5 may not skip")
else:
    print(SKIPPED)
    print(
        "Without Redis the notebook does not show: the keys of a live group in Redis, a\n"
        "message waiting in Redis for another process, and the pub/sub channels of the\n"
        "pubsub layer. Everything above ran on the in-memory layer, which needs no server."
    )

# %% [markdown]
# ### Switching the layer in a running process
#
# Channels builds a layer the first time it is asked for, and keeps it. It drops the
# kept layers when Django sends the `setting_changed` signal for `CHANNEL_LAYERS`, which
# `django.test.override_settings` sends (so does pytest-django's `settings` fixture, which
# the step's tests use). A plain assignment to `settings.CHANNEL_LAYERS` sends no signal:

# %%
import uuid

from django.test import override_settings


def redis_layers(flavour):
    """CHANNEL_LAYERS for `core` or `pubsub` at REDIS_URL, with a key prefix of its own."""
    layers = channel_layers_from_env({"REDIS_URL": REDIS_URL, "CHANNEL_LAYER": flavour})
    layers["default"]["CONFIG"]["prefix"] = f"notebook-{uuid.uuid4().hex[:12]}"
    return layers


in_memory_layers = settings.CHANNEL_LAYERS
settings.CHANNEL_LAYERS = redis_layers("core")  # builds a config only: nothing connects
print("after a plain assignment:  ", type(get_channel_layer()).__name__)
settings.CHANNEL_LAYERS = in_memory_layers

with override_settings(CHANNEL_LAYERS=redis_layers("core")):
    print("inside override_settings:  ", type(get_channel_layer()).__name__)
print("after override_settings:   ", type(get_channel_layer()).__name__)

# %% [markdown]
# The plain assignment changed the setting, but `get_channel_layer()` still returned the
# in-memory layer it had kept. `override_settings` works, and puts the old value back when
# it ends (emptying `channels.layers.channel_layers.backends` after an assignment would
# work too). The notebook uses its `enable()` and `disable()`, which do the same across
# cells.
#
# Every use gets its own key `prefix` (channels-redis' option, `"asgi"` by default), as the
# step's tests do, so the notebook never mixes its keys with those of a demo, or of
# another run, on the same Redis.
#
# ### `core`: groups and messages are stored in Redis
#
# The layer switches to `core`, and bob opens the Lobby again. To know which channel his
# consumer got, the notebook wraps the consumer's `connect` for that one socket, as
# notebook 02 did to see the scope.

# %%
from unittest import mock


async def open_socket_and_channel(room, user):
    """open_socket(), and the channel name the socket's consumer got."""
    names = []
    real_connect = RoomConversationConsumer.connect

    async def note_channel_then_connect(consumer):
        names.append(consumer.channel_name)
        await real_connect(consumer)

    with mock.patch.object(RoomConversationConsumer, "connect", note_channel_then_connect):
        socket = await open_socket(room, user)
    return socket, names[0]


if REDIS_OK:
    core_layers = redis_layers("core")
    core_prefix = core_layers["default"]["CONFIG"]["prefix"]
    core_override = override_settings(CHANNEL_LAYERS=core_layers)
    core_override.enable()
    core_layer = get_channel_layer()
    print("the layer:", type(core_layer).__name__, "with prefix", repr(core_prefix))
    bob_socket, bob_channel = await open_socket_and_channel(lobby, bob)
    print("bob's channel:", bob_channel)
else:
    print(SKIPPED)

# %% [markdown]
# Now the notebook reads Redis directly, with redis-py: every key that starts with the
# prefix, its type, its time to live, and its content.

# %%
from datetime import UTC, datetime


def show_redis_keys(prefix):
    """Each key of Redis starting with `prefix`: type, time to live, content."""
    keys = sorted(redis_client.scan_iter(match=f"{prefix}*"))
    if not keys:
        print(f"no key starts with {prefix!r}")
    for key in keys:
        kind = redis_client.type(key).decode()
        print(f"{key.decode()!r}: a {kind}, expires in {redis_client.ttl(key)} s")
        if kind != "zset":
            continue
        for member, score in redis_client.zrange(key, 0, -1, withscores=True):
            when = datetime.fromtimestamp(score, UTC)
            # A group's members are channel names; a channel's members, messages (bytes).
            shown = member.decode() if b":group:" in key else f"{member[:40]!r}..."
            print(f"  score {score:.3f} ({when:%H:%M:%S} UTC)  member {shown}")


if REDIS_OK:
    redis_client = redis.Redis.from_url(REDIS_URL)
    show_redis_keys(core_prefix)
else:
    print(SKIPPED)

# %% [markdown]
# One key, `<prefix>:group:room_<id>`: the Lobby's group, a Redis sorted set. Its member
# is bob's channel name, its score the time the channel joined (seconds since 1970, as
# `time.time()` gives them). The key expires after a day (`group_expiry`, 86,400 s by
# default), renewed at each join, and each `group_send` first removes the members that
# joined more than `group_expiry` ago, so a server that died without leaving its groups
# does not keep its channels in them forever.
#
# The channel name has two parts around the `!`: `specific.<this process's id>!` names
# the process (the layer object, `client_prefix`), and what follows names the consumer
# within it. Redis knows the first part only; the process sorts the messages to its
# consumers.

# %%
if REDIS_OK:
    print("this process's layer:", core_layer.client_prefix)
    print("bob's channel:       ", bob_channel)
else:
    print(SKIPPED)

# %% [markdown]
# A message saved now reaches bob through Redis. channels-redis puts it in a sorted set
# per process, `<prefix>specific.<process id>!`, and this process, which waits on that
# key (`BZPOPMIN`), takes it out at once. While it hands the message to the consumer, it
# keeps a copy in `...!$inflight`, so that a receive cancelled halfway loses nothing, and
# deletes that copy a moment later; `wait_received()` waits for that bookkeeping. The
# keys afterwards are as before:

# %%
if REDIS_OK:
    await sync_to_async(Message.objects.create)(room=lobby, author=alice, text="Through Redis")
    print("bob received:", await bob_socket.receive_json_from(timeout=5))
    await core_layer.wait_received()
    show_redis_keys(core_prefix)
else:
    print(SKIPPED)

# %% [markdown]
# ### A message waiting for another process
#
# To see a stored message, a second `RedisChannelLayer` object with the same settings
# plays a second server process: it gets a channel and joins the Lobby's group, but does
# not read. That is a process whose consumer is busy, or one that has not come back yet.

# %%
from channels_redis.core import RedisChannelLayer

if REDIS_OK:
    other_process = RedisChannelLayer(**core_layers["default"]["CONFIG"])
    other_channel = await other_process.new_channel()
    await other_process.group_add(lobby_group, other_channel)
    await sync_to_async(Message.objects.create)(room=lobby, author=carol, text="For two processes")
    print("bob received:", (await bob_socket.receive_json_from(timeout=5))["data"]["text"])
    show_redis_keys(core_prefix)
else:
    print(SKIPPED)

# %% [markdown]
# The group now holds two channels, one from each process (two different ids before the
# `!`). The second process's message waits in its sorted set, serialized with msgpack
# (the first bytes are a random prefix that keeps equal messages apart); it expires after
# 60 s (`expiry`), and `capacity` (100 by default) caps how many may wait per channel,
# beyond which a send raises `ChannelFull` and a `group_send` drops the message and logs
# it. When the process reads, the message leaves Redis, and when its channel leaves the
# group, only bob's is left:

# %%
if REDIS_OK:
    print("the other process received:", await other_process.receive(other_channel))
    await other_process.wait_received()
    await other_process.group_discard(lobby_group, other_channel)
    show_redis_keys(core_prefix)
    await other_process.close_pools()
else:
    print(SKIPPED)

# %% [markdown]
# When bob's socket closes, his consumer leaves the group; Redis deletes a sorted set
# whose last member is gone, so no key is left:

# %%
if REDIS_OK:
    await bob_socket.disconnect()
    show_redis_keys(core_prefix)
    core_override.disable()
else:
    print(SKIPPED)

# %% [markdown]
# ### `pubsub`: Redis stores nothing
#
# `RedisPubSubChannelLayer` uses Redis' publish/subscribe instead: each channel and each
# group is a pub/sub channel, which the process subscribes to on its one connection;
# `group_send` is a `PUBLISH`, delivered to the connections subscribed at that moment,
# and then forgotten. bob and alice open the Lobby:

# %%
if REDIS_OK:
    pubsub_layers = redis_layers("pubsub")
    pubsub_prefix = pubsub_layers["default"]["CONFIG"]["prefix"]
    pubsub_override = override_settings(CHANNEL_LAYERS=pubsub_layers)
    pubsub_override.enable()
    pubsub_layer = get_channel_layer()
    print("the layer:", type(pubsub_layer).__name__, "with prefix", repr(pubsub_prefix))
    bob_socket, bob_channel = await open_socket_and_channel(lobby, bob)
    alice_socket, alice_channel = await open_socket_and_channel(lobby, alice)
    print("bob's channel:  ", bob_channel)
    print("alice's channel:", alice_channel)
else:
    print(SKIPPED)

# %% [markdown]
# No key at all; what Redis knows is the list of subscribed pub/sub channels
# (`PUBSUB CHANNELS`), and how many connections subscribe to each (`PUBSUB NUMSUB`):

# %%
if REDIS_OK:
    show_redis_keys(pubsub_prefix)
    subscribed = sorted(redis_client.pubsub_channels(f"{pubsub_prefix}*"))
    print(f"\nPUBSUB CHANNELS {pubsub_prefix}*")
    for name, count in redis_client.pubsub_numsub(*subscribed):
        print(f"  {name.decode()!r}: {count} connection(s) subscribed")
else:
    print(SKIPPED)

# %% [markdown]
# Three pub/sub channels: bob's and alice's consumers, each `<prefix>specific.<id>`, and
# the Lobby's group, `<prefix>__group__room_<id>`. The group has one subscriber although
# two sockets joined it: Redis sees one connection per process, and the process keeps
# which of its channels are in which group in its own memory. A message reaches both:

# %%
if REDIS_OK:
    await sync_to_async(Message.objects.create)(room=lobby, author=carol, text="Published")
    print("bob received:  ", (await bob_socket.receive_json_from(timeout=5))["data"]["text"])
    print("alice received:", (await alice_socket.receive_json_from(timeout=5))["data"]["text"])
    show_redis_keys(pubsub_prefix)
else:
    print(SKIPPED)

# %% [markdown]
# `PUBLISH` answers with the number of connections it reached; published where nobody
# subscribes, a message is simply gone. Here to the group of "Alice & Bob", where no socket
# is open:

# %%
if REDIS_OK:
    nobody = f"{pubsub_prefix}__group__{helpers.room_group_name(alice_and_bob.id)}"
    print(f"PUBLISH {nobody}: reached", redis_client.publish(nobody, b"nobody hears this"))
    await bob_socket.disconnect()
    await alice_socket.disconnect()
    print("after the sockets closed:", redis_client.pubsub_channels(f"{pubsub_prefix}*"))
else:
    print(SKIPPED)

# %% [markdown]
# ### `core` and `pubsub`, side by side
#
# | | `core` (`RedisChannelLayer`) | `pubsub` (`RedisPubSubChannelLayer`) |
# |---|---|---|
# | a group in Redis | a sorted set, expires after 1 day | a pub/sub channel, no key |
# | who knows a group's members | Redis: one member per channel | each process, in its memory |
# | a message in Redis | stored until read (60 s, 100 per channel) | not stored: fire-and-forget |
# | a receiver not reading yet | reads it later, within 60 s | gets it only if subscribed then |
# | Redis goes away: open sockets | receive fails: closed with 4503 | `LayerWatch` closes: 4503 |
# | Redis goes away: a save | `group_send` raises, one log line | the same |
# | Redis comes back | reconnects by itself | resubscribes by itself, a second or two later |
#
# The outage rows are the README's "When Redis goes away", measured by the step's tests
# (`tests/test_redis.py`). With `core`, each socket's pending receive fails at once; left
# alone, Daphne would log a traceback per socket and close each with 1011, so
# `AsyncBaseConsumer.__call__` catches the error and closes with 4503 instead. With
# `pubsub`, nothing fails for the sockets: the layer logs a traceback every second and
# resubscribes once Redis is back, and what was published meanwhile never reaches them;
# for a second or two after the return it even publishes before it has subscribed again.
# So the step's `LayerWatch` sends a probe to its own channel and waits for it to come
# back: at each handshake, before the socket is accepted, and once a second while sockets
# are open. When it fails or does not come back, the sockets are closed with 4503 (a send
# alone would succeed while nothing is delivered). A save during the outage stores its
# row; the helper catches the `ConnectionError` of `group_send` and logs one line. Either
# way the page reconnects with backoff once Redis is back and catches up with `?after=`,
# so its reader loses no message.

# %% [markdown]
# ### Cleaning up Redis
#
# The sockets are closed. One task of the step may still use a layer: `LayerWatch` (in
# `chat/consumers.py`) probes the channel layer once a second while sockets are open, and
# stops within a second of the last one closing; the cell waits for it
# (`LayerWatch.finished()`), so that it does not open a connection again. Then it closes
# the layers' connections, deletes any key left with the notebook's prefixes (there
# should be none), and puts the in-memory layer back.

# %%
from chat.consumers import LayerWatch

if REDIS_OK:
    await LayerWatch.finished()
    await core_layer.close_pools()
    await pubsub_layer.flush()  # closes its connection and its receiving task
    pubsub_override.disable()
    left = [key for p in (core_prefix, pubsub_prefix) for key in redis_client.scan_iter(f"{p}*")]
    print("keys deleted:", redis_client.delete(*left) if left else 0)
    redis_client.close()
else:
    print(SKIPPED)
print("the layer now:", type(get_channel_layer()).__name__)

# %% [markdown]
# ## Where it goes next
#
# Step 05 (`step05_async_http/`) turns to plain HTTP: the news collector of step 01
# becomes async twice, as a Channels `AsyncHttpConsumer` that fetches with aiohttp and as
# a native Django async view, and both are measured against the sync view, which fetches
# the blogs one after the other.

# %% [markdown]
# The notebook is done with its temporary database, so the last cell removes it (restart
# the kernel to run the notebook again). The learner's `db.sqlite3` was never opened.

# %%
from django.db import connections

connections.close_all()
shutil.rmtree(DATABASE_DIR, ignore_errors=True)
print("removed:", not DATABASE_DIR.exists())
