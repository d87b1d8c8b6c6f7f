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
# ← [05_async_http](05_async_http.ipynb) ·
# [benchmarks](../benchmarks/README.md)

# %% [markdown]
# # After step 05: the chat under load
#
# Companion of the talk "From sync Django to real-time Django Channels", for the three load
# benchmarks in `benchmarks/` (`broadcast.py`, `capacity.py`, `burst.py`, described with
# their profiles in `benchmarks/README.md`), which measure step05's chat with hundreds and
# thousands of sockets. Run the notebook top to bottom: it needs no internet and takes under
# a minute, because it reads the figures the benchmarks wrote and runs one of them live at
# a small size only.
#
# You will plot a message's time from its post to every socket as the room grows; see what
# grows with the number of sockets K and why, timing two of the costs here; run the
# broadcast benchmark small; then read what idle sockets cost, and what a burst of saves
# loses and how the page wins it back.

# %% [markdown]
# ## Setting up the step's Django
#
# The benchmarks do not need this kernel's Django: each copies step05 into a temporary
# folder and runs it in processes of its own (Daphne, a redis-server, `manage.py`). The
# notebook sets up step05's Django all the same, with `workshop_notebook.py` as notebook 05
# does, for two things only: to print the step's code (its modules import the models,
# which need a set-up Django) and to time Channels' database clean-up, which reads the
# database settings. As there, the database is a fresh SQLite file in a temporary folder,
# and the kernel's channel layer is the in-memory one.
#
# The cell also puts `benchmarks/` on `sys.path` (the benchmarks import their shared
# `harness.py` by name), then reads the three JSON files as the benchmarks last wrote them.

# %%
import json
import sys

from django.conf import settings
from workshop_notebook import REPO, set_up_django, show_source

set_up_django("step05_async_http")
print("channel layer:", settings.CHANNEL_LAYERS["default"]["BACKEND"])

BENCHMARKS = REPO / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))
import broadcast

figures = {
    name: json.loads((BENCHMARKS / f"{name}.json").read_text(encoding="utf-8"))
    for name in ("broadcast", "capacity", "burst")
}
for name, document in figures.items():
    machine = document["machine"]
    packages = ", ".join(f"{package} {v}" for package, v in machine["packages"].items())
    print(f"\nbenchmarks/{name}.json, measured {document['measured']}")
    print(f"  Python {machine['python']} on {machine['system']}; {packages}")

# %% [markdown]
# ## 1. From a post to every socket: `broadcast.json`
#
# `broadcast.py` opens K websockets as bob in step05's Lobby (K = 10, 100, 1,000); alice
# posts 20 messages through the API, 0.2 s apart; each client notes when each frame comes.
# The latency of a frame is the time from its post to its arrival. A setup is a channel
# layer (in-memory on one process; Redis on one, and on two with the clients taking them in
# turn), a server, and which of the step's own optimisations are put back the way Channels
# ships them:
# - step05 as it is, on Daphne (the workshop's server) and on Uvicorn;
# - on Daphne, before and after: "Channels as shipped" (Channels' database clean-up before
#   every event and, on the in-memory layer, its walk over every channel before every
#   receive and its copy of a broadcast for every socket); "Channels' clean-up", "walk" or
#   "copies" (one of them put back); and "frame encoded once", a change the step did not
#   make, measured (section 2).
#
# The table counts the frames that never came, too:

# %%
from broadcast import AS_SHIPPED, LAYERS, Setup

SHIPPED = Setup("in-memory", **AS_SHIPPED)  # the in-memory layer, Channels as shipped


def print_rows(rows):
    print(f"{'setup':47} {'K':>5} {'p50':>7} {'p95':>7} {'p99':>7} {'frames/s':>9}")
    for row in rows:
        print(
            f"{row['setup']:47} {row['sockets']:>5}"
            f" {row['p50_ms']:>5.0f}ms {row['p95_ms']:>5.0f}ms {row['p99_ms']:>5.0f}ms"
            f" {row['frames_per_s']:>9,.0f}"
        )


committed = figures["broadcast"]["rows"]
plan = figures["broadcast"]["plan"]
print(f"K = {plan['sockets']}, {plan['messages']} posts {plan['interval_s']} s apart")
print("frames lost:", sum(row["frames_lost"] for row in committed), "\n")
print_rows(committed)

# %% [markdown]
# The same figures against K, a column per layer, p50 above and p99 below; both axes are
# logarithmic. Solid lines are step05 as it is, dotted ones the setups with something put
# back or changed.

# %%
import matplotlib.pyplot as plt
from matplotlib.ticker import LogFormatter, NullLocator


def plot_latency(rows, title):
    """p50 and p99 against K, a column per layer, a line per setup."""
    layers = [layer for layer in LAYERS if any(row["layer"] == layer for row in rows)]
    fig, axes = plt.subplots(
        2, len(layers), figsize=(4.3 * len(layers), 7.5), sharey=True, squeeze=False
    )
    for column, layer in enumerate(layers):
        setups = list(dict.fromkeys(row["setup"] for row in rows if row["layer"] == layer))
        for line_number, key in enumerate(("p50_ms", "p99_ms")):
            ax = axes[line_number][column]
            for setup in setups:
                line = [row for row in rows if row["setup"] == setup]
                as_it_is = setup == Setup(layer, line[0]["server"]).label
                sockets = [row["sockets"] for row in line]
                ax.plot(
                    sockets,
                    [row[key] for row in line],
                    "o-" if as_it_is else "^:",
                    label=setup.removeprefix(f"{layer}, "),
                )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.xaxis.set_minor_locator(NullLocator())
            ax.yaxis.set_major_formatter(LogFormatter())  # 100, not 10²
            ax.yaxis.set_minor_formatter(LogFormatter(labelOnlyBase=False))
            ax.set_xticks(sockets, [str(k) for k in sockets])
            ax.set_title(f"{layer}: {key[:3]}", fontsize=10)
            ax.set_xlabel("sockets in the room (K)")
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7)
        axes[0][0].set_ylabel("post to frame, ms")
        axes[1][0].set_ylabel("post to frame, ms")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    plt.show()


plot_latency(committed, f"broadcast.json, measured {figures['broadcast']['measured'][:10]}")

# %% [markdown]
# Up to 100 sockets the lines lie together, whatever the setup: a few tens of milliseconds
# at p50, about a tenth of a second at p99. At 1,000 they fan out. Channels as shipped is
# the slowest on every layer, by far on the in-memory one; step05 on Uvicorn is the fastest
# on every layer; on Daphne, two Redis processes beat one. The rest of this notebook
# explains that order.
#
# One caution before reading figures across runs: at K = 1,000 one process works at about
# the rate the posts ask for (20 × 1,000 frames in 4 s), where a few per cent more or less
# speed from the machine moves p99 by seconds. On the machine that wrote this JSON, step05
# on Daphne and one Redis process measured anywhere from 1.0 to 3.4 s at p99 in runs of the
# same day. Compare setups within one run, as `broadcast.py` lays them out side by side.

# %% [markdown]
# ## 2. What grows with K, and why
#
# A post broadcasts once: the API saves the message, and the `post_save` receiver calls
# `group_send` on the room's group (notebook 04). What follows is per socket: each of the
# K consumers receives the event from the channel layer, dispatches it to its handler and
# sends a frame down its socket, all in the server's one event loop. Whatever a socket costs
# per event is paid K times per post; whatever itself grows with K is paid K times too,
# and grows as K².
#
# ### The database clean-up before every handler
#
# Since Channels 4.2, `AsyncConsumer.dispatch`, which calls a consumer's handler for each
# event, first awaits `aclose_old_connections()`:

# %%
from channels.consumer import AsyncConsumer
from channels.db import aclose_old_connections

show_source(AsyncConsumer.dispatch)
show_source(aclose_old_connections)

# %% [markdown]
# `close_old_connections()` closes the database connections that have outlived
# `CONN_MAX_AGE` or broken. It is sync, so it goes through `sync_to_async`, which is
# thread-sensitive by default. Django's HTTP handler gives each request a thread of its own
# for that (notebook 05); a consumer has no such context, so every thread-sensitive call the
# consumers of a process make, `database_sync_to_async` included, goes to the same one
# thread. The notebook's event loop is in the same position. A hundred calls at once:

# %%
import asyncio
import threading
import time

from asgiref.sync import sync_to_async


def thread_name():
    return threading.current_thread().name


names = await asyncio.gather(*(sync_to_async(thread_name)() for _ in range(100)))
print("100 calls at once ran in:", sorted(set(names)))

for k in (10, 100, 1000):
    started = time.perf_counter()
    await asyncio.gather(*(aclose_old_connections() for _ in range(k)))
    elapsed = time.perf_counter() - started
    print(f"{k:>5} clean-ups at once: {1000 * elapsed:6.1f} ms")

# %% [markdown]
# One thread, so the clean-ups take turns: a broadcast to 1,000 sockets queues 1,000 of
# them, and the last socket's handler runs only after all of them, even though forwarding a
# frame touches no database. The time grows with K, in proportion or faster; on a server the
# handshakes (the membership check and the token's user, both `database_sync_to_async`)
# wait in the same queue.
#
# Steps 04 and 05 skip the clean-up for the two group events whose handlers touch no
# database: `channel_message` forwards the frame it carries, `access_revoked` compares two
# user ids. The class comes first in the consumers' bases (`AsyncBaseConsumer` in
# `chat/consumers.py`); every other event, a handshake or a frame from the client, still
# goes through `AsyncConsumer.dispatch`, and `database_sync_to_async` cleans up around each
# of its calls anyway. The step's `tests/test_group_events.py` counts the clean-ups: none for
# a group event, one for a frame from the client.

# %%
from chat.group_events import SkipsCleanupForGroupEvents

show_source(SkipsCleanupForGroupEvents)


def row_of(rows, setup, sockets):
    """The row of `setup` (a broadcast.Setup) at K = `sockets`."""
    return next(row for row in rows if (row["setup"], row["sockets"]) == (setup.label, sockets))


def compare(title, pairs, sockets):
    """p99 at K = `sockets`, before -> after, for each (before, after) pair of setups."""
    print(f"p99 at K = {sockets:,}, {title}:")
    for before, after in pairs:
        slow, fast = (row_of(committed, setup, sockets)["p99_ms"] for setup in (before, after))
        print(f"  {before.label}\n    -> {after.label}:")
        less = slow >= fast
        change = f"{slow / fast:.1f} times less" if less else f"{fast / slow:.1f} times more"
        print(f"       {slow:7,.0f} ms -> {fast:5,.0f} ms ({change})")


K = max(plan["sockets"])
compare(
    "Channels' clean-up -> skipped (Daphne)",
    [
        (Setup("in-memory", skip_cleanup=False), Setup("in-memory")),
        (Setup("Redis", skip_cleanup=False), Setup("Redis")),
        (Setup("Redis, 2 processes", skip_cleanup=False), Setup("Redis, 2 processes")),
    ],
    K,
)

# %% [markdown]
# ### The in-memory layer: a walk over every channel on every receive
#
# `InMemoryChannelLayer.receive` calls `_clean_expired()` before it waits for a message
# (and `group_send` calls it once too):

# %%
from channels.layers import InMemoryChannelLayer

show_source(InMemoryChannelLayer._clean_expired)

# %% [markdown]
# The walk visits every channel of the process and every member of every group: with K
# sockets in a room, about 2K entries. Each of the K sockets receives each broadcast, so a
# broadcast costs K walks of about 2K entries: it grows as K². Here is a layer of the
# notebook's own with K channels in one group, one broadcast sent, and the K walks the
# consumers' receives would make, timed:


# %%
async def time_the_walks(layer_class):
    """For K = 10, 100, 1,000: K channels in one group, one broadcast, the K walks timed."""
    for k in (10, 100, 1000):
        layer = layer_class()
        for _ in range(k):
            await layer.group_add("room_1", await layer.new_channel())
        await layer.group_send("room_1", {"type": "channel_message", "message": {}})
        started = time.perf_counter()
        for _ in range(k):  # one walk per socket's receive
            layer._clean_expired()
        elapsed = time.perf_counter() - started
        print(
            f"K = {k:>5}: {len(layer.channels):>5} channels, {1000 * elapsed:7.2f} ms per broadcast"
        )


await time_the_walks(InMemoryChannelLayer)

# %% [markdown]
# Ten times the sockets, roughly a hundred times the time. And the layer's `group_send`
# starts a task for each member, each of which copies the event (`deepcopy`): K copies of
# the frame's dictionaries per broadcast.
#
# Steps 04 and 05 configure a subclass of the layer (`chat/in_memory_layer.py`, optional
# reading) that walks once a second at most, and copies a broadcast's event once for all its
# members. A message expires after 60 s unread and a membership after a day, so a second
# more changes nothing a user sees; one copy for all is what channels-redis does for the
# consumers of one process, and the step's `tests/test_in_memory_layer.py` checks both, and
# that what has expired still goes. The same K walks through it:

# %%
from chat.in_memory_layer import CheapBroadcastInMemoryChannelLayer

show_source(CheapBroadcastInMemoryChannelLayer)
await time_the_walks(CheapBroadcastInMemoryChannelLayer)

compare(
    "Channels' walk or copies -> ours (Daphne)",
    [
        (Setup("in-memory", walk_once=False), Setup("in-memory")),
        (Setup("in-memory", copy_once=False), Setup("in-memory")),
        (SHIPPED, Setup("in-memory")),
    ],
    K,
)

# %% [markdown]
# Channels' documentation presents the in-memory layer for tests and local development, not
# production, and it cannot reach a second process anyway; but it is what a laptop without
# Redis runs, the workshop's default.
#
# ### channels-redis: a receive of its own for each socket
#
# With Redis, each consumer waits in channels-redis' `RedisChannelLayer.receive` for its own
# channel, and does so again for every event. One receiver of the process at a time holds
# a lock and reads from Redis into per-channel buffers; every other one waits on its buffer.
# To wait for whichever comes first, the lock or its buffer, each call builds two tasks and
# awaits `asyncio.wait` on them, per event and per socket (the method, over a hundred
# lines, is not printed here). In the profile of the 1,000-socket run with the
# clean-up skipped (py-spy on the Daphne process, in `benchmarks/README.md`), this receive
# holds about a quarter of the samples, most of it building and waiting on those tasks.
#
# ### The server: a send for each socket
#
# The handler that every socket runs for every broadcast is one line:

# %%
from chat.consumers import AsyncBaseConsumer

show_source(AsyncBaseConsumer.channel_message)

# %% [markdown]
# `send_json` encodes the frame, then the server writes it to the socket: K encodings and K
# writes per broadcast. Encoding the frame once, where it is sent, would spare K - 1 of the
# encodings, but the event would then carry text instead of the frame (the talk's
# `message`), and the lesson's helper, handler, slides and exercises would change with it.
# `broadcast.py` measures that change without making it (the harness patches it into its
# servers: "frame encoded once"):

# %%
compare(
    "the frame encoded for each socket -> once (Daphne)",
    [(Setup(layer), Setup(layer, encode_once=True)) for layer in ("in-memory", "Redis")],
    K,
)

# %% [markdown]
# One run says little here (see the caution in section 1). Over nine such pairs on Redis in
# one day, p99 fell in eight, by 6 to 39 % (16 % at the median), and rose in one; on the
# in-memory layer, once it copies a broadcast once, the pairs show nothing either way. A
# gain, but a small one against what is left: the layer's per-socket receive and the
# server's per-socket send. Daphne writes through Twisted; Uvicorn, an asyncio server,
# writes with less on the way:

# %%
compare(
    "Daphne -> Uvicorn",
    [(Setup(layer), Setup(layer, "Uvicorn")) for layer in LAYERS],
    K,
)

# %% [markdown]
# ### A second process halves each process's K
#
# With two Daphne processes on Redis, each holds half of the sockets. `group_send` stores
# the message in Redis once for each process with sockets in the group, each copy naming
# that process's channels, and each process receives, dispatches and sends for its own half
# only, on a core of its own (the machine has two). Every per-socket cost above is paid
# K/2 times per process, and the two halves run at the same time.
#
# The gain can be more than twice, because the posts come at a steady rate: 20 posts 0.2 s
# apart are 20 × K frames due in about 3.8 s. A server that needs more than 0.2 s for one
# broadcast is still busy with it when the next post comes, and the delays add up, post
# after post, until the posts stop. How long each run took, from the first post to the last
# frame, against the 3.8 s of posting:

# %%
posting = (plan["messages"] - 1) * plan["interval_s"]
print(f"K = {K:,}: {plan['messages'] * K:,} frames, posted over {posting:.1f} s")
for row in committed:
    if row["sockets"] == K:
        took = row["frames"] / row["frames_per_s"]
        print(f"  {row['setup']:47} the last frame after {took:4.1f} s")

# %% [markdown]
# A run whose last frame came a few tenths of a second after the posting kept pace with
# the posts: each broadcast was done before the next post. The others fell behind, and
# their queue grew for the whole run: there, a frame's latency is mostly the broadcasts
# before it, which is why the gap in p99 between set-ups is wider than the gap in work.

# %% [markdown]
# ## 3. The broadcast benchmark, live, at a small size
#
# The notebook calls `broadcast.py`'s `measure(plan, setups)` with a small plan of its own:
# K = 10 and 50, 5 posts 0.1 s apart, on the in-memory layer (no Redis needed), Channels as
# shipped and step05 as it is on Daphne, and on Uvicorn; about 15 seconds. As in notebook
# 05, `measure` runs in a worker thread (it calls `asyncio.run`), and the servers inherit an
# environment without `DJANGO_ALLOW_ASYNC_UNSAFE`, so they run as a deployment does.

# %%
import os
from unittest import mock

LIVE = {"sockets": [10, 50], "messages": 5, "interval_s": 0.1}
LIVE_SETUPS = [
    SHIPPED,
    Setup("in-memory"),
    Setup("in-memory", "Uvicorn"),
]
print("the notebook's plan:", LIVE)
print("the full run's:     ", broadcast.FULL)
with mock.patch.dict(os.environ):
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    live = await asyncio.to_thread(broadcast.measure, LIVE, LIVE_SETUPS)

# %%
print("frames lost:", sum(row["frames_lost"] for row in live), "\n")
print_rows(live)
plot_latency(live, "this machine, now: a small plan")

# %% [markdown]
# At 10 and 50 sockets every frame comes in about the time a post takes to be saved and
# broadcast, whatever the setup: nothing like the seconds of section 1. Every cost of
# section 2 is paid per socket, and at this size there are too few sockets for any of them
# to show. With 5 posts, p95 and p99 are the slowest frames of the run, and one busy moment
# of this machine moves them. The full run, `.venv/bin/python benchmarks/broadcast.py`,
# takes about eight minutes and rewrites `benchmarks/broadcast.json` and `broadcast.png`
# for your machine; `--quick` is the smoke test that `make test` runs.

# %% [markdown]
# ## 4. Idle sockets: `capacity.json`
#
# `capacity.py` opens bob's idle sockets in the Lobby on one server process (Redis layer),
# 50 handshakes in flight at a time, up to 5,000, on Daphne and then on Uvicorn. At each
# step it notes the handshakes that failed, the rate, the slowest handshakes (p99) and the
# server's memory (its RSS, against the process before its first socket):

# %%
capacity = figures["capacity"]["rows"]
servers = list(dict.fromkeys(row["server"] for row in capacity))
print(f"{'server':8} {'sockets':>8} {'failed':>7} {'handshakes/s':>13}", end="")
print(f" {'p99 handshake':>14} {'RSS':>9} {'per socket':>11}")
for row in capacity:
    print(
        f"{row['server']:8} {row['sockets']:>8,} {row['failed']:>7}"
        f" {row['handshakes_per_s']:>13.0f} {row['p99_handshake_ms']:>11.0f} ms"
        f" {row['server_rss_mib']:>5.0f} MiB {row['kib_per_socket']:>7.1f} KiB"
    )

panels = [
    ("handshakes_per_s", "handshakes a second"),
    ("p99_handshake_ms", "p99 handshake, ms"),
    ("server_rss_mib", "the server's memory (RSS), MiB"),
]
fig, axes = plt.subplots(1, len(panels), figsize=(11, 3.4))
for ax, (key, title) in zip(axes, panels, strict=True):
    for server in servers:
        line = [row for row in capacity if row["server"] == server]
        ax.plot([row["sockets"] for row in line], [row[key] for row in line], "o-", label=server)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("idle sockets open")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
axes[0].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Not one handshake failed, and the memory grows in proportion: each idle socket costs the
# server the same few tens of KiB, from the first thousand to the fifth (Uvicorn a few KiB
# less than Daphne). The rate stays flat, and alike on both servers (between 130 and 170 a
# second in the committed run), because a handshake's work is Django's and Channels', on
# the one thread of section 2: the membership check (`member_room`: the room, then the
# member) and the token's user (simplejwt's `get_user`) are `database_sync_to_async` calls,
# and each call opens a new SQLite connection, since the settings keep no connection between
# calls:

# %%
from django.db import connections

print("CONN_MAX_AGE:", connections["default"].settings_dict["CONN_MAX_AGE"])

# %% [markdown]
# In the profile of a ramp to 1,500 sockets, that thread holds about half of the samples.
# Django's documentation asks for persistent connections (`CONN_MAX_AGE` above 0) to be
# disabled under ASGI, so the step keeps 0. A second process has a thread of its own, and
# about doubles the rate: see `handshakes_per_s` in `broadcast.json`, for the runs on two
# processes. The p99 handshake grows with the sockets already open; the benchmark does
# not say why.

# %% [markdown]
# ## 5. A burst: `burst.json`
#
# An import job or a bot saves messages much faster than people type, and each save
# broadcasts. `burst.py` opens 300 sockets in the Lobby, then another process saves 500
# messages with `Message.objects.create` as fast as it can. What that asks of the server:

# %%
import re

burst = figures["burst"]["result"]
seconds = float(re.search(r"in ([\d.]+) s", burst["saved"]).group(1))
due = burst["frames_due"]
one_process = row_of(committed, Setup("Redis"), K)["frames_per_s"]
print(f"{burst['messages']} messages saved in {seconds} s, to {burst['sockets']} sockets each:")
print(f"  {due:,} frames due, {due / seconds:,.0f} a second")
print(
    f"  one Redis process at K = {K:,}, step05 on Daphne (section 2): {one_process:,.0f} a second"
)

# %% [markdown]
# Many times what one process delivered in section 2, where it barely kept pace, so the
# frames wait in the channel layer. channels-redis keeps them in two places, each bounded
# by the layer's `capacity`; here is its default, which the step's settings keep:

# %%
import inspect

from channels_redis.core import RedisChannelLayer

print("capacity:", inspect.signature(RedisChannelLayer).parameters["capacity"].default)

# %% [markdown]
# First in Redis: `group_send` stores one copy of the message for each process with sockets
# in the group, in that process's one queue (a sorted set), and skips a queue that already
# holds `capacity` messages; the server logs at INFO how many channels were over capacity.
# Then in the process: the receiver that holds the lock takes a message from Redis and puts
# it in the buffer of each socket it names, and a buffer already holding `capacity` frames
# drops its oldest, with no log. Either way a socket more than 100 frames behind loses
# frames, and the sender is not told. What the 300 sockets saw, and what they held after
# the page-style catch-up described below:

# %%
came, held = burst["live"], burst["after_catch_up"]
worst = burst["messages"] - came["worst_missed"]
print(f"came live:            {came['frames_received']:>7,} of {due:,} frames")
print(f"  sockets short of some: {came['sockets_that_missed_some']} of {burst['sockets']}")
print(f"  the worst socket:      {worst} of {burst['messages']} messages")
print(f"  twice, out of order:   {came['frames_twice']}, {came['frames_out_of_order']}")
print(f"after the catch-ups:  {held['messages_held']:>7,} of {due:,} messages held")
print(f"  lost: {held['messages_lost']}; sockets missing any: {held['sockets_missing_any']}")
print(
    f"  requests of ?after=: {held['fetches']:,}, {held['fetches'] / burst['sockets']:.0f} a socket"
)

fig, ax = plt.subplots(figsize=(8, 2.4))
bars = ax.barh(
    ["held after the catch-ups", "came live"],
    [held["messages_held"], came["frames_received"]],
    color=["tab:green", "tab:red"],
)
ax.bar_label(bars, fmt="{:,.0f}", padding=3)
ax.axvline(due, color="grey", linestyle=":")
ax.set_xlim(0, due * 1.2)
ax.xaxis.set_major_formatter("{x:,.0f}")
ax.set_xlabel(f"of {due:,} frames due (dotted line)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### How the page wins them back: `previousId`
#
# Message ids are global (every room's messages share them), so a page cannot tell from a
# frame's id that frames are missing. Since step 02 each message frame names the room's
# message before it:

# %%
from chat.helpers import previous_message_id, send_message_to_room

show_source(send_message_to_room)
show_source(previous_message_id)

# %% [markdown]
# The page (`receive` in `static/chat/catch_up.js`) compares a frame's `previousId` with
# the newest message it shows. When the frame's previous message is newer, frames never
# came: the page does not show the frame but fetches what it lacks,
# `/api/rooms/<id>/messages/?after=<newest shown>`, page after page of 100, the frame's
# message among them. A frame dropped at the very end of a burst has no later frame to
# show the gap, so the page also treats frames that come less than 250 ms apart as a burst
# and asks once more a second after the last one. `burst.py`'s clients do the same.
#
# One thing `previousId` cannot see: with a database whose transactions commit out of id
# order (PostgreSQL under concurrent writers), a dropped frame whose successor committed
# first leaves no gap behind it. SQLite writes one transaction at a time. A per-room
# sequence number would close that; the workshop stays on SQLite.

# %% [markdown]
# ## Where it goes next
#
# - `benchmarks/README.md` has the full runs' tables, the py-spy profiles quoted above and
#   the commands: `make bench-broadcast` (`benchmarks/broadcast.py`, about ten minutes),
#   `capacity.py` (under a minute) and `burst.py`, each rewriting its JSON file for your
#   machine; and `soak.py`, 200 clients on two processes through a Redis restart.
# - `chat/group_events.py` in steps 04 and 05, and `tests/test_group_events.py`, for the
#   clean-up the consumers skip; `chat/in_memory_layer.py` and `tests/test_in_memory_layer.py`
#   for the in-memory layer's walk and copies.
# - The notebooks before this one, `01_sync_django` to `05_async_http`, follow the steps.

# %% [markdown]
# The notebook is done with its temporary database, so the next cell removes it (restart
# the kernel to run the notebook again). The learner's `db.sqlite3` was never opened.

# %%
from workshop_notebook import remove_database

print("removed:", remove_database())

# %% [markdown] tags=["navigation"]
# ← [05_async_http](05_async_http.ipynb) ·
# [benchmarks](../benchmarks/README.md)
