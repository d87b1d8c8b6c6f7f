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
# ← [03_jwt_middleware](03_jwt_middleware.ipynb) ·
# [step 04](../step04_signals_groups/README.md) ·
# [05_async_http](05_async_http.ipynb) →

# %% [markdown]
# # Step 04: from a `post_save` signal to a frame on every socket
#
# Companion of the talk "From sync Django to real-time Django Channels", for the code in
# `step04_signals_groups/`. Run it top to bottom: it needs no internet and no Redis, and
# takes well under a minute.
#
# In this step the views and the consumers only save; `post_save` signals send every new
# message to its room's sockets once the transaction commits. You will drive a channel
# layer by hand (channels, groups, `group_send`), follow a plain ORM `save()` to a frame on
# a socket, watch the `on_commit` trap happen with and without the step's decorator, and
# see which writes signals do not see. An optional appendix at the end reads what
# channels-redis stores in Redis; it runs only when a Redis server answers.

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
# `runserver`. It is a file, not SQLite in memory, because the consumers and the saves of
# this notebook reach the ORM from worker threads, each with its own connection, and an
# in-memory SQLite database is private to the one connection that created it.
#
# The settings read `REDIS_URL` when they are imported. The cell keeps its value (by
# default the local Redis, `redis://127.0.0.1:6379/0`) for the appendix, then the helper
# removes it from the environment, so that the notebook runs on the in-memory layer, which
# needs no server.
#
# The helper also gives the notebook `show_source(obj)` and `show_file(path)`, which print
# code read from the step's files at run time, so what you see here is what runs.

# %%
import os

from django.conf import settings
from workshop_notebook import REPO, set_up_django, show_file, show_source

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"  # for the appendix
set_up_django("step04_signals_groups")
print("channel layer:", settings.CHANNEL_LAYERS["default"]["BACKEND"])

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
# One helper more, only because of how a notebook runs: the receivers reach the layer
# through `async_to_sync`, which refuses to run in a thread whose event loop is running, as
# this notebook's is, so `in_its_own_thread` runs each save in a worker thread of its own,
# as Django's ASGI handler does for a request's sync view. (Of its own: the one thread that
# `sync_to_async` shares by default is also where each consumer goes before every event it
# handles, so a transaction held open there would keep bob's consumer waiting.)

# %%
from asgiref.sync import async_to_sync, sync_to_async
from django.db import connection


def in_its_own_thread(func):
    """`func` as a coroutine function that runs in a worker thread, as a request's view does."""

    def run_then_close(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            connection.close()  # the worker thread's own database connection

    return sync_to_async(run_then_close, thread_sensitive=False)


# %% [markdown]
# ## 1. Groups and the channel layer
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
# reach it: not a second Daphne, not a management command. (From this step it is a subclass
# that makes a broadcast to many sockets cheaper, `chat/in_memory_layer.py`, optional
# reading: notebook 06 measures it.) With `REDIS_URL` set, the
# step's settings choose channels-redis' `RedisChannelLayer` instead, which every process
# reaches through Redis (from this step, a subclass of it that gives up on a Redis that does
# not answer: `chat/layer_outage.py`, optional reading). This function of
# `config/settings.py` makes the setting:

# %%
from config.settings import channel_layers_from_env

show_source(channel_layers_from_env)

# %% [markdown]
# The API is the same on both layers, so nothing else in the step depends on which one
# runs. (The appendix shows what `RedisChannelLayer` keeps in Redis.)
#
# ### The groups of a socket
#
# A consumer uses the layer the same way. When a socket connects, Channels gives its
# consumer a channel (`self.channel_name`) and adds it to each group of `self.groups`,
# which this step's `AsyncBaseConsumer` fills before the handshake: for the room's socket,
# the group `room_<id>`. Then the consumer waits on its channel; an event that arrives
# there is dispatched by its `"type"` to the consumer method of that name (dots become
# underscores). This step sends a single type, `channel_message`, and its handler forwards
# the event's `message` to the client as it is:

# %%
from chat.consumers import AsyncBaseConsumer, RoomConversationConsumer

show_source(RoomConversationConsumer.resolve_groups)
show_source(AsyncBaseConsumer.channel_message)

# %% [markdown]
# ## 2. From `save()` to a frame on a socket, step by step
#
# Who sends those events? Nobody in the views or the consumers any more: two `post_save`
# receivers, connected when the `chat` app is ready (`ChatConfig.ready()` imports the
# module). The receivers after them use signals a second time: they close the sockets of
# someone who loses access (the step's README, "Revocation").

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
# The `except` clause is for a layer that is down (Redis gone away): the row is stored
# already, so a failed broadcast costs one log line, never the save. `LAYER_ERRORS`, what
# a layer raises then, comes from `chat/layer_outage.py`, the step's optional reading on
# outages.
#
# ### A plain ORM save reaches bob's socket
#
# bob opens the Lobby. The notebook then creates a message with the ORM, as the shell or
# a data fix would, and nothing else: no view, no consumer, no explicit send. To see the
# event itself, and not only the frame bob's client gets, the notebook also puts a
# channel of its own into the Lobby's group, as one more listener.

# %%
lobby_group = helpers.room_group_name(lobby.id)
bob_socket = await open_socket(lobby, bob)
listener = await layer.new_channel()
await layer.group_add(lobby_group, listener)

message = await in_its_own_thread(Message.objects.create)(
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
# ### With the step's receivers
#
# A message saved inside `transaction.atomic()`, the way `post_message` saves it. Inside
# the block, the function looks at the callbacks the connection keeps for the commit, and
# checks bob's socket, which lives on the notebook's loop, through `async_to_sync`.

# %%
from django.db import transaction


def save_in_a_transaction(text):
    with transaction.atomic():
        saved = Message.objects.create(room=lobby, author=alice, text=text)
        print(f"saved message {saved.pk}; the transaction is still open")
        waiting = transaction.get_connection().run_on_commit
        print("  callbacks waiting for the commit:", [func.__name__ for _, func, _ in waiting])
        heard = not async_to_sync(bob_socket.receive_nothing)(timeout=0.3)
        print("  bob's socket heard of it before the commit:", heard)
    print("committed")


await in_its_own_thread(save_in_a_transaction)("Sent after the commit")
print("bob received:", await bob_socket.receive_json_from(timeout=5))
print("nothing more for bob:", await bob_socket.receive_nothing(timeout=0.2))

# %% [markdown]
# The callback waited in the connection's list (`broadcast_message`, its arguments bound
# by the decorator) and ran at the commit; bob heard of the message once, after it. Now a
# save that is rolled back: an exception leaves the block.


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
created = await in_its_own_thread(Message.objects.bulk_create)(
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
# ## Where it goes next
#
# Step 05 (`step05_async_http/`) turns to plain HTTP: the news collector of step 01
# becomes async twice, as a Channels `AsyncHttpConsumer` that fetches with aiohttp and as
# a native Django async view, and both are measured against the sync view, which fetches
# the blogs one after the other.
#
# The appendix below is optional; the last cell of the notebook, after it, removes the
# notebook's temporary database.

# %% [markdown]
# ## Appendix, optional: what channels-redis stores in Redis
#
# With `REDIS_URL` set, the step runs on `RedisChannelLayer`, and a group reaches the
# sockets of every server process. This appendix reads, with redis-py, what that layer
# keeps in Redis for a live group. (channels-redis also has a `RedisPubSubChannelLayer`,
# which the workshop does not offer: channels-redis calls it Beta, and around a Redis
# outage it lost messages without an error.)
#
# It needs a Redis server at `REDIS_URL` (by default the local one). Without one, the
# next cell says how to start one, and the appendix's other cells do nothing. Under
# `CI=true` (the workshop's CI starts a Redis) a missing Redis is an error instead, so
# that the appendix is not left out unnoticed.

# %%
import redis


def redis_answers(url):
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except (redis.RedisError, ValueError):
        return False


REDIS_OK = redis_answers(REDIS_URL)
if REDIS_OK:
    print(f"Redis answers at {REDIS_URL}: the appendix runs")
elif os.environ.get("CI") == "true":
    raise RuntimeError(f"no Redis answers at {REDIS_URL}; under CI=true the appendix must run")
else:
    print(
        f"No Redis answers at {REDIS_URL}: start one (`redis-server --daemonize yes`, or"
        " `docker run -d -p 6379:6379 redis:7`) and run the notebook again to see the appendix."
    )

# %% [markdown]
# Channels builds a layer the first time it is asked for, and keeps it; it builds a new
# one when Django sends `setting_changed` for `CHANNEL_LAYERS`, as
# `django.test.override_settings` does (after a plain assignment to
# `settings.CHANNEL_LAYERS`, Channels would keep the layer it has). The notebook switches
# to the step's Redis setting that way, with a key `prefix` of its own (channels-redis'
# option, `"asgi"` by default), as the step's tests do, so that its keys never mix with
# those of a demo on the same Redis. Then bob opens the Lobby.

# %%
import uuid

from django.test import override_settings

if REDIS_OK:
    redis_layers = channel_layers_from_env({"REDIS_URL": REDIS_URL})
    prefix = redis_layers["default"]["CONFIG"]["prefix"] = f"notebook-{uuid.uuid4().hex[:8]}"
    redis_override = override_settings(CHANNEL_LAYERS=redis_layers)
    redis_override.enable()
    redis_layer = get_channel_layer()
    print("the layer:", type(redis_layer).__name__, "with prefix", repr(prefix))
    bob_socket = await open_socket(lobby, bob)

# %% [markdown]
# Every key that starts with the prefix, its type, its time to live, and what it holds:

# %%
redis_client = redis.Redis.from_url(REDIS_URL) if REDIS_OK else None


def show_redis_keys():
    """Each key of Redis starting with the notebook's prefix, and its members."""
    keys = sorted(redis_client.scan_iter(match=f"{prefix}*"))
    if not keys:
        print(f"no key starts with {prefix!r}")
    for key in keys:
        kind = redis_client.type(key).decode()
        print(f"{key.decode()!r}: a {kind}, expires in {redis_client.ttl(key)} s")
        for member, score in redis_client.zrange(key, 0, -1, withscores=True):
            # A group's members are channel names; a channel's, messages that wait.
            shown = member.decode() if b":group:" in key else redis_layer.deserialize(member)
            print(f"  score {score:.0f}, member {shown}")


if REDIS_OK:
    show_redis_keys()
    print("\nthis process's layer:", redis_layer.client_prefix)

# %% [markdown]
# One key, `<prefix>:group:room_<id>`: the Lobby's group, a Redis sorted set. Its member
# is bob's channel name, its score the time the channel joined (seconds since 1970). The
# key expires after a day (`group_expiry`), renewed at each join, and each `group_send`
# first drops the members that joined longer ago than that, so a server that died
# without leaving its groups does not keep its channels in them forever.
#
# A channel name has two parts around the `!`: `specific.<client_prefix>!` names the
# process (its layer object, whose `client_prefix` is printed above), and what follows
# names the consumer within it. Messages are stored under the first part only: a process
# waits on one key for all its consumers, and hands each message that arrives there to
# the consumers it names.
#
# ### A message waiting for another process
#
# A message saved now reaches bob through Redis, and leaves Redis at once: this process
# waits on its key and takes the message out as it arrives. To see a message stored, a
# second `RedisChannelLayer` object with the same settings plays a second server process,
# whose consumer is busy: it gets a channel and joins the Lobby's group, but does not read.

# %%
from channels_redis.core import RedisChannelLayer

if REDIS_OK:
    other_process = RedisChannelLayer(**redis_layers["default"]["CONFIG"])
    other_channel = await other_process.new_channel()
    await other_process.group_add(lobby_group, other_channel)
    await in_its_own_thread(Message.objects.create)(room=lobby, author=carol, text="To two")
    print("bob received:", (await bob_socket.receive_json_from(timeout=5))["data"]["text"])
    await redis_layer.wait_received()  # until this process deletes its backup copy of it
    show_redis_keys()

# %% [markdown]
# The group now holds two channels, one of each process (two ids before the `!`). The
# second process's message waits in a sorted set of its own, `<prefix>specific.<id>!`,
# stored with msgpack (shown decoded): the event, and in `__asgi_channel__` the channels
# of that process it is for, so that one copy per process serves all its consumers in the
# group. It expires after 60 s (`expiry`), and at most 100 may wait in one sorted set
# (`capacity`); beyond that a `group_send` drops the message for that channel and logs it.
# Once the other process reads and leaves the group, only bob's channel is left:

# %%
if REDIS_OK:
    print("the other process received:", await other_process.receive(other_channel))
    await other_process.group_discard(lobby_group, other_channel)
    await other_process.close_pools()
    show_redis_keys()

# %% [markdown]
# When bob's socket closes, his consumer leaves the group; Redis deletes a sorted set
# whose last member is gone, so no key is left. The cell then closes the layer's
# connections, deletes any key left with the notebook's prefix (there should be none),
# and puts the in-memory layer back.

# %%
if REDIS_OK:
    await bob_socket.disconnect()
    show_redis_keys()
    await redis_layer.close_pools()
    redis_override.disable()
    left = list(redis_client.scan_iter(match=f"{prefix}*"))
    print("keys deleted:", redis_client.delete(*left) if left else 0)
    redis_client.close()
    print("the layer now:", type(get_channel_layer()).__name__)

# %% [markdown]
# When Redis goes away, `RedisChannelLayer` makes every pending receive and every join of
# a group raise a connection error. `ClosesOnLayerOutage`, in `chat/layer_outage.py`
# (optional reading, what a deployment adds), closes such a socket with 4503 and one log
# line; the page reconnects with backoff and catches up with `?after=`. The step's
# `tests/test_redis.py` stops a real Redis to show it.

# %% [markdown]
# The notebook is done with its temporary database, so the next cell removes it (restart
# the kernel to run the notebook again). The learner's `db.sqlite3` was never opened.

# %%
from workshop_notebook import remove_database

print("removed:", remove_database())

# %% [markdown] tags=["navigation"]
# ← [03_jwt_middleware](03_jwt_middleware.ipynb) ·
# [step 04](../step04_signals_groups/README.md) ·
# [05_async_http](05_async_http.ipynb) →
