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
# ← [04_signals_groups](04_signals_groups.ipynb) ·
# [step 05](../step05_async_http/README.md) ·
# [06_realtime_under_load](06_realtime_under_load.ipynb) →

# %% [markdown]
# # Step 05: the news collector, async, three ways
#
# Companion of the talk "From sync Django to real-time Django Channels", for the code in
# `step05_async_http/`. Run it top to bottom: it needs no internet and takes well under a
# minute.
#
# You will follow DEP 0009, the plan that made Django async-capable, through the Django
# releases that delivered it; read the step's three news collectors side by side and call
# them against local fake blogs; run the step's benchmark at a small size; watch what a
# sync view costs under ASGI (a thread for each one running); and measure, in the
# notebook's own event loop, when async helps and when it does not.

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
# `runserver`. The collectors do not use the database, but the rest of the step does
# (the chat of step 04 is still here), and a file, unlike SQLite in memory, is shared by
# the connections of every thread.
#
# The settings read `REDIS_URL` when they are imported; the helper removes it from the
# environment first, so the channel layer is the in-memory one.
#
# The helper also gives the notebook `show_source(obj)` and `show_file(path)`, which print
# code read from the step's files (or, for Django itself, from the installed package) at
# run time, so what you see here is what runs.

# %%
import django
from django.conf import settings
from workshop_notebook import REPO, set_up_django, show_file, show_source

set_up_django("step05_async_http")
print("channel layer:", settings.CHANNEL_LAYERS["default"]["BACKEND"])
print("Django", django.get_version())

# %% [markdown]
# ## 1. DEP 0009, and how Django delivered it
#
# A Django Enhancement Proposal (DEP) is the design document for a large change. DEP 0009,
# "Async-capable Django", was written by Andrew Godwin (created 2019-05-06) and accepted
# in 2019 (https://github.com/django/deps/blob/master/accepted/0009-async.rst). Its plan,
# in short:
#
# - Add async views, middleware, ORM and more, while sync Django stays, fully supported
#   and backwards-compatible.
# - Move each feature through three stages: sync only; sync inside, with an async wrapper
#   that runs it in a thread (`sync_to_async`); async inside, with a sync wrapper
#   (`async_to_sync`).
# - Run code that must stay in one thread, such as the ORM with its connections and
#   transactions, in a "sticky" thread rather than in any thread of a pool: this became
#   `sync_to_async(..., thread_sensitive=True)`, the default.
# - Keep WSGI; only an ASGI server can hold many concurrent requests efficiently.
#
# The DEP suggested naming the async variants with an `_async` suffix
# (`cache.get_async`). Django chose an `a` prefix instead (`aget`), and the 4.0 release
# notes say the prefix is the convention from then on.
#
# The DEP planned the work in rounds, not by date. Here is the async support each release
# added, as its release notes (linked on each line) describe it. The list keeps the
# headline items only, and a release that is missing (3.2) is missing from the list, not
# necessarily from the history.
#
# - **3.0** (2019-12-02): Django can run as an ASGI application (`asgi.py`), besides
#   WSGI; async views come in the next release.
#   https://docs.djangoproject.com/en/5.2/releases/3.0/
# - **3.1** (2020-08-04): `async def` views, async middleware, async tests and an async
#   test client. https://docs.djangoproject.com/en/5.2/releases/3.1/
# - **4.0** (2021-12-07): an async cache API (`aget()`, `aset()`, ...); the `a` prefix
#   becomes the rule for async variants.
#   https://docs.djangoproject.com/en/5.2/releases/4.0/
# - **4.1** (2022-08-03): an async ORM interface on `QuerySet` (`aget()`, `acreate()`,
#   `async for`), with the database work still sync underneath; async method handlers in
#   class-based views. https://docs.djangoproject.com/en/5.2/releases/4.1/
# - **4.2**, long-term support (2023-04-03): `Model.asave()`, `adelete()`,
#   `arefresh_from_db()`; the related managers' `aadd()`, `aset()`, ...;
#   `StreamingHttpResponse` accepts async iterators under ASGI; psycopg 3 is supported.
#   https://docs.djangoproject.com/en/5.2/releases/4.2/
# - **5.0** (2023-12-04): `Signal.asend()` and `asend_robust()`; auth's
#   `aauthenticate()`, `alogin()`, `alogout()` and `request.auser()`; many view decorators
#   accept async views; a client's `http.disconnect` is handled under ASGI.
#   https://docs.djangoproject.com/en/5.2/releases/5.0/
# - **5.1** (2024-08-07): an async session API (`aget()`, `akeys()`, ...);
#   `login_required` and its two siblings accept async views.
#   https://docs.djangoproject.com/en/5.2/releases/5.1/
# - **5.2**, long-term support (2025-04-02): async methods on the user model, its manager
#   and `ModelBackend` (`acreate_user()`, `ahas_perm()`, ...), which auth backends may
#   implement natively; `method_decorator` accepts async methods.
#   https://docs.djangoproject.com/en/5.2/releases/5.2/
#
# The same facts, on a time line:

# %%
from datetime import date

import matplotlib.pyplot as plt

NOTES = "https://docs.djangoproject.com/en/5.2/releases/{}/"
MILESTONES = [  # (date, title, short summary, source)
    (
        date(2019, 5, 6),
        "DEP 0009 written",
        "async views, middleware,\nORM...; sync Django stays",
        "https://github.com/django/deps/blob/master/accepted/0009-async.rst",
    ),
    (date(2019, 12, 2), "3.0", "runs as an ASGI app\n(still sync inside)", NOTES.format("3.0")),
    (date(2020, 8, 4), "3.1", "async views, middleware,\ntests", NOTES.format("3.1")),
    (date(2021, 12, 7), "4.0", "async cache API\n(the a-prefix rule)", NOTES.format("4.0")),
    (
        date(2022, 8, 3),
        "4.1",
        "async ORM interface\n(sync underneath);\nasync class-based views",
        NOTES.format("4.1"),
    ),
    (
        date(2023, 4, 3),
        "4.2 LTS",
        "Model.asave(), related\nmanagers; async\nstreaming responses",
        NOTES.format("4.2"),
    ),
    (
        date(2023, 12, 4),
        "5.0",
        "Signal.asend(); alogin(),\nrequest.auser(); async-\naware decorators",
        NOTES.format("5.0"),
    ),
    (
        date(2024, 8, 7),
        "5.1",
        "async sessions;\nlogin_required on\nasync views",
        NOTES.format("5.1"),
    ),
    (
        date(2025, 4, 2),
        "5.2 LTS",
        "async user, manager and\nauth-backend methods",
        NOTES.format("5.2"),
    ),
]

fig, ax = plt.subplots(figsize=(12, 4.6))
ax.axhline(0, color="grey", linewidth=1, zorder=1)
heights = [1.6, -1.6, 2.9, -2.9]  # alternate above and below the line, two levels each
for index, (when, title, summary, _source) in enumerate(MILESTONES):
    height = heights[index % len(heights)]
    is_dep = title.startswith("DEP")
    color = "tab:purple" if is_dep else "tab:blue"
    ax.vlines(when, 0, height, color=color, linewidth=1, zorder=1)
    ax.plot(when, 0, "o", color=color, markersize=7, zorder=2)
    ax.annotate(
        f"{title}  ({when.isoformat()})\n{summary}",
        xy=(when, height),
        xytext=(0, 4 if height > 0 else -4),
        textcoords="offset points",
        ha="center",
        va="bottom" if height > 0 else "top",
        fontsize=8,
        bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": color},
    )
ax.set_ylim(-4.6, 4.6)
ax.set_xlim(date(2018, 9, 1), date(2026, 2, 1))
ax.yaxis.set_visible(False)
for side in ("left", "right", "top"):
    ax.spines[side].set_visible(False)
ax.set_title("DEP 0009 and the Django releases that delivered it (sources: the release notes)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Two things in that history matter for this step.
#
# **The async ORM interface is the DEP's second stage.** Django 4.1's release notes say the
# database operations underneath remain synchronous. Here is `QuerySet.aget` in the
# installed Django: the sync `get`, run through `sync_to_async`.

# %%
from django.db.models.query import QuerySet

show_source(QuerySet.aget)

# %% [markdown]
# **A thread for each request.** Django's ASGI handler runs a sync view through
# `sync_to_async`, which is thread-sensitive by default. Up to Django 3.2 every
# thread-sensitive call of a process went to one shared thread, so sync views ran one after
# the other. Since Django 4.0 the handler opens a `ThreadSensitiveContext` for each request,
# and each context gets a thread of its own: Django ticket #32889, whose pull request
# (https://github.com/django/django/pull/13882) describes the change, and which a Django
# maintainer dates to 4.0 and sums up as one single-thread executor per request instead of
# one for all requests (https://github.com/django/channels/issues/1587). The release notes
# do not mention it, which is why it is not on the time line. Here is the handler's entry
# point in the installed Django:

# %%
from django.core.handlers.asgi import ASGIHandler

show_source(ASGIHandler.__call__)

# %% [markdown]
# Section 4 measures what that means for the step's views.

# %% [markdown]
# ## 2. The three collectors, side by side
#
# All three collectors answer `GET` with the same JSON: one report for each source of
# `settings.NEWS_SOURCES` and the time the whole collection took. A failing source is
# reported in its own entry; the answer is still a 200.
#
# ### The sync view: `requests`, one source after the other

# %%
from collector import async_news, views

show_source(views.news_collector_sync_view)
show_source(views.fetch_source)

# %% [markdown]
# ### The async core: aiohttp, every source at once
#
# Both async collectors call `collect_news_async`. It opens one `ClientSession` for the
# call, starts one `fetch_source` coroutine for each source and waits for all of them with
# `asyncio.gather`, so the call takes about as long as the slowest source.

# %%
show_source(async_news.collect_news_async)
show_source(async_news.fetch_source)

# %% [markdown]
# ### Async collector 1: a Channels `AsyncHttpConsumer`
#
# `handle()` runs once the request has arrived; the consumer answers with `send_response`.
# Nothing of Django's request handling runs: no middleware, no `request_started` signal, no
# view. The mixin `GuardedCollector` (`collector/guards.py`, like the views' decorator
# `@guarded_collector`) refuses what a collector does not serve before `handle()` runs:
# section "What the three refuse" below.

# %%
from collector.consumers import NewsCollectorAsyncConsumer

show_source(NewsCollectorAsyncConsumer)

# %% [markdown]
# ### Async collector 2: a Django `async def` view (DEP 0009)

# %%
show_source(views.news_collector_async_view)

# %% [markdown]
# ### The routing
#
# `config/asgi.py` sends one HTTP path to the consumer and every other one to Django,
# which finds the two views in `collector/urls.py`.

# %%
show_file("config/asgi.py")

# %%
show_file("collector/urls.py")

# %% [markdown]
# ### The three, called
#
# The step's `FakeNewsServer` serves slow "blogs" on a free loopback port. Here: five
# blogs that answer after 0.2 s, plus two broken sources, `/fail/` (an HTTP 500) and
# `/garbled/` (a body that claims to be gzip and is not).
#
# Channels' `HttpCommunicator` plays the server: it sends one request through the step's
# `config.asgi.application`, with no network between them. It must send a `Host` header,
# as a browser does: Django answers 400 to a request whose host is not in
# `ALLOWED_HOSTS`. The collectors read `settings.NEWS_SOURCES` at each call, so the
# notebook points them at the fake blogs by changing the setting.

# %%
import asyncio
import json

from channels.testing import HttpCommunicator

from collector.fake_news import FakeNewsServer
from config.asgi import application

COLLECTORS = {
    "sync view": "/collector/collect_news_sync/",
    "async view": "/collector/collect_news_async_view/",
    "AsyncHttpConsumer": "/collector/collect_news_async/",
}
HOST = [(b"host", b"127.0.0.1:8000")]  # what a browser or curl sends


async def collect(path):
    """GET a collector through config.asgi.application; its JSON answer."""
    communicator = HttpCommunicator(application, "GET", path, headers=HOST)
    response = await communicator.get_response(timeout=30)
    await communicator.wait()  # let the application finish after its answer
    assert response["status"] == 200, response
    return json.loads(response["body"])


settings.NEWS_TIMEOUT = 2
settings.NEWS_CONCURRENCY = 100
with FakeNewsServer(count=5, delay=0.2) as fake_news:
    settings.NEWS_SOURCES = fake_news.sources("fail", "garbled")
    answers = {name: await collect(path) for name, path in COLLECTORS.items()}

print(f"{'':12}", "".join(f"{name:>24}" for name in answers))
print(f"{'elapsed_ms':12}", "".join(f"{a['elapsed_ms']:>24}" for a in answers.values()))
for source in ("blog-1", "blog-5", "fail", "garbled"):
    cells = []
    for answer in answers.values():
        report = answer["sources"][source]
        cells.append("ok" if report["ok"] else report["error"].split(":")[0])
    print(f"{source:12}", "".join(f"{cell:>24}" for cell in cells))

# %% [markdown]
# The same answer from all three, in different times: the sync view waited for the five
# blogs one after the other (about 5 x 0.2 s), the async collectors for all of them at once
# (about 0.2 s). The failures are reported the same way; only the error's name comes from
# the client library, `requests` for the sync view and aiohttp for the async ones. The
# whole report of one blog:

# %%
print(json.dumps(answers["async view"]["sources"]["blog-1"], indent=2))

# %% [markdown]
# `started_ms` is when the collector began asking the source, in milliseconds after the
# collection began, and `elapsed_ms` how long the source took from there: enough to draw
# each call as a timeline, one bar per source. The collector page (`/collector/`, three
# buttons) draws them in the browser; here the same three reports, on one time scale, a
# failed source in red:

# %%
fig, axes = plt.subplots(len(answers), 1, figsize=(8, 6), sharex=True)
for ax, (name, answer) in zip(axes, answers.items(), strict=True):
    entries = answer["sources"]
    for row, entry in enumerate(entries.values()):
        colour = "#0c4b33" if entry["ok"] else "#b00020"
        ax.barh(row, entry["elapsed_ms"], left=entry["started_ms"], color=colour)
        if not entry["ok"]:  # a failure is over in a millisecond or two: say what it was
            ended = entry["started_ms"] + entry["elapsed_ms"]
            ax.text(ended, row, f" {entry['error'].split(':')[0]}", va="center", color=colour)
    ax.set_yticks(range(len(entries)), list(entries))
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_title(f"{name}: {answer['elapsed_ms']:,.1f} ms in all", loc="left")
axes[-1].set_xlabel("milliseconds after the collection began")
fig.tight_layout()
plt.show()

# %% [markdown]
# The sync view draws a staircase: each source starts once the one before it has answered,
# and the call lasts the sum of their times. The async collectors draw a stack: every source
# starts at about 0 ms (`asyncio.gather` runs each fetch up to its first wait), and the call
# lasts about as long as the slowest source.

# %% [markdown]
# ### What the three refuse
#
# They need no login and each call asks every source, so all three answer a plain GET
# only: another method is a 405, a request body a 413, and a call while
# `NEWS_MAX_COLLECTIONS` collections run in the process (all three counted together) a 503
# with `Retry-After`. The body is refused before anyone gathers it: `GuardedCollector`
# decides on the consumer's first chunk (an `AsyncHttpConsumer` joins every chunk before
# `handle()`), and `CollectorRefusals`, in front of Django in `config/asgi.py`, answers for
# the views before Django's handler reads the body (it reads all of it before any view
# runs). Django logs the views' refusals.


# %%
async def refusal(method, path, body=b""):
    """A request a collector refuses: its status and error."""
    communicator = HttpCommunicator(application, method, path, body=body, headers=HOST)
    response = await communicator.get_response(timeout=30)
    await communicator.wait()
    return f"{response['status']} {json.loads(response['body'])['error']}"


for name, path in COLLECTORS.items():
    print(f"{name:18} POST:            {await refusal('POST', path)}")
    print(f"{'':18} GET with a body: {await refusal('GET', path, body=b'x' * 1000)}")

# %% [markdown]
# ## 3. The benchmark, live at a small size
#
# `tools/bench_collector.py` measures the three collectors the way a deployment runs them:
# it starts the fake news server and the step itself under Daphne, each in a process of
# its own on a free loopback port, and calls them over real HTTP with aiohttp. Its
# `measure(plan)` does two things:
#
# 1. one caller, N sources of L ms each: the median time of a call, per collector;
# 2. C callers at once, 10 sources each: the time until the last answer, and the Daphne
#    process's peak number of threads (read with psutil, on Linux, macOS and Windows alike).
#
# The full run, `make bench-collector`, takes about two minutes. Here is a plan that takes
# about 10 seconds. `measure` calls `asyncio.run`, which cannot run inside the notebook's
# event loop, so the notebook runs it in a worker thread with `asyncio.to_thread`. The
# Daphne processes inherit the notebook's environment; the cell takes
# `DJANGO_ALLOW_ASYNC_UNSAFE` out of it for them, so they run as a real server does.

# %%
import os
import sys
from unittest import mock

TOOLS = REPO / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))
import bench_collector

PLAN = {"sizes": [3, 10], "delay_ms": 100, "repeats": 1, "callers": [1, 10]}
print("the notebook's plan:", PLAN)
print("make bench-collector:", bench_collector.FULL)

with mock.patch.dict(os.environ):
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    results = await asyncio.to_thread(bench_collector.measure, PLAN)

# %% [markdown]
# The tool's `main()` stores the plan, the machine and the results in one document, then
# plots it with `plot(document, path)`. The notebook does the same, into a temporary file.

# %%
import atexit
import shutil
import tempfile
from pathlib import Path

from IPython.display import Image, display

document = {"plan": PLAN, "machine": bench_collector.machine(), "results": results}
FIGURE_DIR = Path(tempfile.mkdtemp(prefix="workshop-step05-bench-"))
atexit.register(shutil.rmtree, FIGURE_DIR, ignore_errors=True)
bench_collector.plot(document, FIGURE_DIR / "collector.png")
display(Image(filename=FIGURE_DIR / "collector.png"))

# %%
print(f"{'sources':>8} {'sync view':>10} {'async view':>11} {'consumer':>9}  sync / async")
for row in results["single_caller"]:
    median = row["median_s"]
    ratios = " and ".join(f"{ratio:.1f}" for ratio in row["sync_over_async"].values())
    print(
        f"{row['sources']:>8} {median['sync view']:>9.3f}s {median['async view']:>10.3f}s "
        f"{median['AsyncHttpConsumer']:>8.3f}s  {ratios}"
    )

# %% [markdown]
# With one caller, the sync view's time grows with the number of sources (N x 100 ms),
# while both async collectors stay near one source's delay: the ratio grows with N. At this
# size one repeat per collector is a rough figure, and this machine may be busy with
# something else; the full run takes the median of five calls.
#
# The committed figure of the last full run is `benchmarks/collector.png` (with its
# numbers in `benchmarks/collector.json`), made by `make bench-collector`:

# %%
FULL_FIGURE = REPO / "benchmarks" / "collector.png"
if FULL_FIGURE.exists():
    display(Image(filename=FULL_FIGURE))
else:
    print(f"{FULL_FIGURE.relative_to(REPO)} is not there yet: run `make bench-collector`.")

# %% [markdown]
# ## 4. A thread for each running sync view
#
# The second part of the benchmark sent 1 and then 10 calls at once to each collector, 10
# sources of 100 ms each, and sampled the Daphne process's threads every 5 ms.

# %%
by_collector = {name: [] for name in bench_collector.COLLECTORS}
for row in results["simultaneous_callers"]:
    by_collector[row["collector"]].append(row)

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
for name, rows in by_collector.items():
    callers = [row["callers"] for row in rows]
    left.plot(callers, [row["last_answer_s"] for row in rows], marker="o", label=name)
    right.plot(callers, [row["threads_peak"] or 0 for row in rows], marker="o", label=name)
left.set_title("time until the last answer", fontsize=10)
left.set_ylabel("seconds")
right.set_title("peak threads of the Daphne process", fontsize=10)
right.set_ylabel("threads")
for axes in (left, right):
    axes.set_xlabel("simultaneous callers")
    axes.set_xticks(PLAN["callers"])
    axes.set_ylim(bottom=0)
    axes.legend()
fig.tight_layout()
plt.show()

print(f"{'callers':>7}  {'collector':18} {'last answer':>11}  threads before -> peak")
for row in results["simultaneous_callers"]:
    print(
        f"{row['callers']:>7}  {row['collector']:18} {row['last_answer_s']:>10.3f}s  "
        f"{row['threads_idle']} -> {row['threads_peak']}"
    )

# %% [markdown]
# Read the two panels together:
#
# - **Sync view.** Ten callers at once take about as long as one (each call waits for its
#   10 sources one after the other, about 1 s), so the calls did run at the same time. They
#   could, because each held a thread: the peak grows by about one thread per caller.
#   Under ASGI a sync view runs through `sync_to_async` in its request's own thread (the
#   per-request context of section 1), blocked for the whole call.
# - **Async view.** It answers as fast as the consumer, yet its threads grow like the sync
#   view's. Django's ASGI handler sends the `request_started` and `request_finished`
#   signals, whose receivers (`close_old_connections`, `reset_queries`) are sync; running
#   them starts the request's context thread, which then lives until the response is sent:
#   idle while the view awaits, but there. This was measured here, and it is not what the
#   talk said.
# - **AsyncHttpConsumer.** Its thread count does not move: it does not go through Django's
#   request handling, so nothing starts a thread for it.
#
# An idle thread costs memory and counts against the process's limits, not CPU time, and
# it did not make the async view slower. The "before" count is taken just before each
# measurement and may still include threads of the previous one that were on their way
# out.

# %% [markdown]
# ### The same, inside the notebook
#
# The notebook can see those threads by name. It connects a receiver of its own to
# `request_started` that records the thread it runs in, and wraps the sync view's
# `fetch_source` to record the thread that fetches. Then it sends five calls at once to each
# collector through `config.asgi.application`, as in section 2.

# %%
import threading
from collections import defaultdict

from django.core.signals import request_started

signal_threads = defaultdict(set)  # path -> names of the threads request_started ran in
fetch_threads = set()  # names of the threads the sync view fetched in


def remember_signal_thread(sender, scope=None, **kwargs):
    signal_threads[scope["path"]].add(threading.current_thread().name)


original_fetch_source = views.fetch_source


def remembering_fetch_source(*args, **kwargs):
    fetch_threads.add(threading.current_thread().name)
    return original_fetch_source(*args, **kwargs)


request_started.connect(remember_signal_thread)
try:
    with (
        FakeNewsServer(count=5, delay=0.2) as fake_news,
        mock.patch.object(views, "fetch_source", remembering_fetch_source),
    ):
        settings.NEWS_SOURCES = fake_news.sources()
        for path in COLLECTORS.values():
            await asyncio.gather(*(collect(path) for _ in range(5)))
finally:
    request_started.disconnect(remember_signal_thread)

print("the notebook's event loop runs in:", threading.current_thread().name)
for name, path in COLLECTORS.items():
    threads = sorted(signal_threads[path], key=lambda name: (len(name), name))
    print(f"{name:18} 5 calls, request_started ran in {len(threads)} threads: {threads}")
same = fetch_threads == signal_threads[COLLECTORS["sync view"]]
print(f"the sync view fetched in {len(fetch_threads)} threads, the same ones: {same}")

# %% [markdown]
# Five simultaneous requests, five threads for each Django view: one per request, named
# after the single-thread executor each request context creates. The sync view fetched in
# the same thread as its request's signal receivers. The consumer's requests never sent
# `request_started`.
#
# For a project that mixes sync and async views, as the step's README puts it: under ASGI
# every running sync view holds a thread for its whole duration, so many slow sync views
# at once mean as many threads. Keep slow I/O in async code and the rest sync; a sync view
# that answers in milliseconds costs little under either server.

# %% [markdown]
# ## 5. When async helps, and when it does not
#
# Three small experiments in the notebook's own event loop, the same kind of loop Daphne
# runs the async collectors in.
#
# ### It helps: I/O-bound fan-out
#
# Ten waits of 0.1 s each, standing for ten slow sources: awaited one after the other,
# then all at once with `asyncio.gather`, as `collect_news_async` does.

# %%
import time


async def slow_source():
    await asyncio.sleep(0.1)  # waiting for a network answer: the loop is free meanwhile


started = time.perf_counter()
for _ in range(10):
    await slow_source()
one_after_the_other = time.perf_counter() - started

started = time.perf_counter()
await asyncio.gather(*(slow_source() for _ in range(10)))
all_at_once = time.perf_counter() - started

print(f"10 waits of 0.1 s, one after the other: {one_after_the_other:.2f} s")
print(f"10 waits of 0.1 s, gathered:            {all_at_once:.2f} s")

# %% [markdown]
# Gathered, the time is that of the longest wait, not the sum: while one coroutine waits,
# the loop runs the others.
#
# ### It does not help: CPU work
#
# A computation never waits, so it never gives the loop back. Below, a coroutine computes
# for about 0.3 s while a "heartbeat" task tries to tick every 20 ms; the largest gap
# between two ticks is how long the loop could do nothing else (in a server: how long
# every other request and socket of the process was frozen). Then three such coroutines
# are gathered.

# %%
from itertools import pairwise

TICK = 0.02


def compute(n):
    """CPU work: no I/O, nothing to wait for."""
    return sum(i * i for i in range(n))


compute(100_000)  # a first call to warm up, then one to time: N is about 0.3 s of work here
started = time.perf_counter()
compute(500_000)
N = int(500_000 * 0.3 / (time.perf_counter() - started))


async def cpu_bound_source():
    return compute(N)


async def largest_gap_while(work):
    """Run a heartbeat during `work()`; (the largest gap between ticks, work's duration)."""
    ticks, stop = [], asyncio.Event()

    async def heartbeat():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(TICK)

    beating = asyncio.create_task(heartbeat())
    await asyncio.sleep(3 * TICK)  # a few regular ticks first
    started = time.perf_counter()
    await work()
    duration = time.perf_counter() - started
    await asyncio.sleep(3 * TICK)
    stop.set()
    await beating
    return max(later - earlier for earlier, later in pairwise(ticks)), duration


async def three_gathered():
    await asyncio.gather(*(cpu_bound_source() for _ in range(3)))


gap_one, one_cpu = await largest_gap_while(cpu_bound_source)
gap_three, three_cpu = await largest_gap_while(three_gathered)
print(f"one computation:       {one_cpu:.2f} s, largest gap between ticks {gap_one:.2f} s")
print(f"three, gathered:       {three_cpu:.2f} s, largest gap between ticks {gap_three:.2f} s")

# %% [markdown]
# The heartbeat stopped for the whole computation, and gathering three gained nothing:
# they ran one after the other, because one event loop runs one piece of Python at a time.
# The README's advice is to run such work outside the loop, in a process pool or a task
# queue. (The step's first "Try this" exercise puts such a loop into the async view, and
# then moves it into `asyncio.to_thread`.)
#
# ### It does not help: a sync call in an async function
#
# An async view that calls the sync ORM must go through `sync_to_async`, and so does the
# async ORM interface itself (section 1). Inside a request, thread-sensitive calls all go
# to that request's one thread, so they queue. To see it, three sync calls of 0.2 s
# (`time.sleep`, standing for three ORM queries) are gathered inside a
# `ThreadSensitiveContext`, as they would be in one request of Django's ASGI handler; then
# the same with `thread_sensitive=False`, which sends each call to a thread of a pool.

# %%
from asgiref.sync import ThreadSensitiveContext, sync_to_async

sync_call_times = {}
for thread_sensitive in (True, False):
    query = sync_to_async(time.sleep, thread_sensitive=thread_sensitive)
    async with ThreadSensitiveContext():  # one request's context
        started = time.perf_counter()
        await asyncio.gather(query(0.2), query(0.2), query(0.2))
        sync_call_times[thread_sensitive] = time.perf_counter() - started
    print(
        f"3 sync calls of 0.2 s, thread_sensitive={thread_sensitive}: "
        f"{sync_call_times[thread_sensitive]:.2f} s"
    )

# %% [markdown]
# Thread-sensitive, the three calls took the sum of their times, like three queries in a
# sync view; the async view gained nothing from `gather` but lost nothing either. The ORM
# needs the thread-sensitive default, because a database connection and its transaction
# belong to one thread, so `thread_sensitive=False` is not a way out for it. And a blocking
# call made directly in an async view, without `sync_to_async` (`requests.get`,
# `time.sleep`), is worse than either: it blocks the event loop, and with it every request
# of the process, as the CPU work above did.

# %% [markdown]
# The five measurements of this section, side by side:

# %%
measured = {
    "10 waits, one after the other": one_after_the_other,
    "10 waits, gathered": all_at_once,
    "1 computation": one_cpu,
    "3 computations, gathered": three_cpu,
    "3 sync calls, thread-sensitive": sync_call_times[True],
    "3 sync calls, thread pool": sync_call_times[False],
}
colors = ["tab:grey", "tab:green", "tab:grey", "tab:red", "tab:red", "tab:green"]
fig, ax = plt.subplots(figsize=(8, 3.4))
bars = ax.barh(list(measured), list(measured.values()), color=colors)
ax.bar_label(bars, fmt="%.2f s", padding=3)
ax.invert_yaxis()
ax.set_xlabel("seconds (this run)")
ax.set_xlim(0, max(measured.values()) * 1.2)
ax.set_title("Gathering helps when the work waits, not when it computes or blocks", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Where it goes next
#
# This is the last step. From here:
#
# - The talk's slides are in `slides/index.rst` (`tools/slides.py` builds the deck); their
#   DEP 0009 slides put the DEP's plan next to what each release shipped.
# - Each step's README ends with "Try this" exercises. This step's: put CPU work into the
#   async view and watch the chat's socket, set `NEWS_CONCURRENCY=2` and explain the new
#   time, and count the server's threads while ten sync calls run at once.
# - `make bench-collector` runs the full benchmark and rewrites `benchmarks/collector.json`
#   and `benchmarks/collector.png` for your machine.
# - The earlier notebooks, `01_sync_django` to `04_signals_groups`, follow the steps
#   before this one; the next one, `06_realtime_under_load`, puts this step's chat under
#   load (the benchmarks in `benchmarks/`).

# %% [markdown]
# The notebook is done with its temporary database and its figure folder, so the next cell
# removes them (restart the kernel to run the notebook again). The learner's `db.sqlite3`
# was never opened.

# %%
from workshop_notebook import remove_database

shutil.rmtree(FIGURE_DIR, ignore_errors=True)
print("removed:", remove_database() and not FIGURE_DIR.exists())

# %% [markdown] tags=["navigation"]
# ← [04_signals_groups](04_signals_groups.ipynb) ·
# [step 05](../step05_async_http/README.md) ·
# [06_realtime_under_load](06_realtime_under_load.ipynb) →
