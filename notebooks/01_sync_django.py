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
# [step 01](../step01_sync_django/README.md) ·
# [02_channels_websockets](02_channels_websockets.ipynb) →

# %% [markdown]
# # Step 01: how synchronous Django answers a request
#
# Companion of the talk "From sync Django to real-time Django Channels", for the code in
# `step01_sync_django/`. Run it top to bottom: it needs no internet and takes well under a
# minute.
#
# You will follow one request through Django (the WSGI entry point, the middleware, the URL
# resolver, the view, the ORM), then see what that model costs in two places: a view that
# waits for slow news sources one after the other, and a chat page that asks the server for
# news every couple of seconds, whether there is news or not.

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
# `django.setup()`: the notebook never touches the `db.sqlite3` you use with `runserver`,
# and every run starts from the same migrated, seeded state.
#
# The helper also gives the notebook `show_source(obj)` and `show_file(path)`, which print
# code read from the step's files at run time, so what you see here is what the step runs.
# This notebook adds a helper of its own, `show_response`, which prints an HTTP response's
# status and JSON body.

# %%
import json

from django.conf import settings
from workshop_notebook import set_up_django, show_file, show_source

STEP = set_up_django("step01_sync_django")


def show_response(response):
    """Print an HTTP response's status and its JSON body."""
    print(response.status_code, response.reason_phrase)
    print(json.dumps(response.json(), indent=2))


# %% [markdown]
# ## 1. The path of one request
#
# When a browser asks for `/api/rooms/1/messages/`, synchronous Django does this, all in
# one function call on one thread:
#
# 1. A WSGI server (`runserver`, gunicorn, uWSGI) receives the HTTP request and calls the
#    project's WSGI application, defined in `config/wsgi.py`.
# 2. The request goes down the middleware list, in the order of `settings.MIDDLEWARE`.
# 3. The URL resolver finds the view for the path, using `config/urls.py`.
# 4. The view runs. It reads and writes the database through the ORM; every query waits
#    for its answer.
# 5. The response goes back up the middleware list, in reverse order, and the WSGI server
#    sends it to the browser.
#
# The cells below show each piece of this step's code in that path.

# %% [markdown]
# ### The URL resolver
#
# `django.urls.resolve` does what Django does for every request: it matches the path
# against `config/urls.py` (which includes `chat/api_urls.py` under `api/`).

# %%
from django.urls import resolve

match = resolve("/api/rooms/1/messages/")
print("route:     ", match.route)
print("view name: ", match.view_name)
print("kwargs:    ", match.kwargs)
print("view class:", match.func.view_class)

# %% [markdown]
# The path part `<int:room_id>` became the keyword argument `room_id=1`, which the view
# receives. The view is a class of Django REST framework (DRF); its `get` method answers
# GET requests.

# %% [markdown]
# ### The middleware
#
# Before the view runs, the request passes through every middleware in this order; the
# response comes back through them in the reverse order.

# %%
for position, middleware in enumerate(settings.MIDDLEWARE, start=1):
    print(position, middleware)

# %% [markdown]
# `SessionMiddleware` reads the session cookie and `AuthenticationMiddleware` gives the
# request its `request.user`. The API views do their own authentication as well: DRF
# checks the session or an HTTP Basic password inside the view, with the classes listed
# in `REST_FRAMEWORK` in the settings.

# %%
print(json.dumps(settings.REST_FRAMEWORK, indent=2))

# %% [markdown]
# ### The view and the ORM
#
# Here is the view's `get` method, loaded from `chat/api.py`. `self.get_room()` looks the
# room up and refuses a caller who is not a member; then one query reads the messages.

# %%
from chat.api import RoomMessagesView

show_source(RoomMessagesView.get)

# %%
show_source(RoomMessagesView.get_room)

# %% [markdown]
# A POST goes to `RoomMessagesView.post`, which validates the text and calls the one
# function that writes messages. It stores the message and a notification for every other
# member in a single transaction:

# %%
from chat.services import post_message

show_source(post_message)

# %% [markdown]
# ### Calling the API
#
# DRF's `APIClient` (a subclass of Django's test client) sends requests straight into the
# WSGI handler, with no network: the middleware, the resolver and the view all run, in this
# kernel. `force_authenticate` skips the password or session check and makes the request
# come from the given user.
#
# The test client calls its host `testserver`; Django's test runner adds that name to
# `ALLOWED_HOSTS`, and so do we.

# %%
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from chat.models import Room

if "testserver" not in settings.ALLOWED_HOSTS:
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

User = get_user_model()
alice, bob, carol = (User.objects.get(username=n) for n in ("alice", "bob", "carol"))
lobby = Room.objects.get(name="Lobby")
alice_and_bob = Room.objects.get(name="Alice & Bob")


def api_as(user):
    """An API client whose requests come from `user`."""
    client = APIClient()
    client.force_authenticate(user)
    return client


alice_api, bob_api, carol_api = api_as(alice), api_as(bob), api_as(carol)

# %% [markdown]
# The rooms alice belongs to:

# %%
show_response(alice_api.get("/api/rooms/"))

# %% [markdown]
# alice writes in the Lobby, and bob answers:

# %%
messages_url = f"/api/rooms/{lobby.id}/messages/"
response = alice_api.post(messages_url, {"text": "Hello, Lobby!"}, format="json")
show_response(response)
first_id = response.json()["id"]

# %%
show_response(bob_api.post(messages_url, {"text": "Hi alice!"}, format="json"))

# %% [markdown]
# The page knows the id of the last message it has shown. It asks for the messages after
# it with `?after=<id>`; here that is bob's answer only:

# %%
show_response(alice_api.get(f"{messages_url}?after={first_id}"))

# %% [markdown]
# Each post created a notification for the other members of the room. bob's notifications,
# newest first:

# %%
show_response(bob_api.get("/api/notifications/"))

# %% [markdown]
# The view refuses what the API promises to refuse (the repository's INTERFACES.md): carol
# is not in "Alice & Bob" (403), and an empty text is not a message (400). Django also logs
# every refused request, which is where the `Forbidden:` and `Bad Request:` lines come from.

# %%
alice_and_bob_url = f"/api/rooms/{alice_and_bob.id}/messages/"
show_response(carol_api.post(alice_and_bob_url, {"text": "Hi"}, format="json"))
show_response(alice_api.post(messages_url, {"text": "   "}, format="json"))

# %% [markdown]
# ### The SQL behind one request
#
# `CaptureQueriesContext` records every query the ORM sends while the block runs. Here is
# one POST: the room, the membership check, then the message and its notifications inside
# one transaction. The thread that serves the request waits for each of these answers.

# %%
from django.db import connection
from django.test.utils import CaptureQueriesContext

with CaptureQueriesContext(connection) as post_queries:
    response = alice_api.post(messages_url, {"text": "Who is here?"}, format="json")

print(response.status_code, response.reason_phrase)
for number, query in enumerate(post_queries.captured_queries, start=1):
    print(f"{number}. {query['sql']}\n")

# %% [markdown]
# ### The entry point: WSGI
#
# `config/wsgi.py` is where a WSGI server enters the project:

# %%
show_file("config/wsgi.py")

# %% [markdown]
# `application` is a callable (a Django `WSGIHandler`). The server calls it once per
# request with a dictionary describing the request (`environ`) and a callback to start the
# response; the call returns only when the response is ready. While it runs, the worker (a
# process or thread of the server) that made the call can do nothing else, so a server
# answers at most as many requests at once as it has workers. `runserver` starts a thread
# per request; gunicorn's default sync workers are processes that each answer one request
# at a time.
#
# Here is such a call made by hand, as a WSGI server would make it, with alice's password
# sent as HTTP Basic authentication:

# %%
import base64
import io
from wsgiref.util import setup_testing_defaults

from config.wsgi import application

environ = {
    "PATH_INFO": "/api/rooms/",
    "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"alice:workshop").decode(),
    "wsgi.input": io.BytesIO(),
}
# Fill in the keys every WSGI environ has: server name and port, method, protocol...
setup_testing_defaults(environ)


def start_response(status, headers):
    print(status)
    for name, value in headers:
        print(f"  {name}: {value}")


body = b"".join(application(environ, start_response))
print(body.decode())

# %% [markdown]
# ## 2. The synchronous news collector
#
# The collector asks several news sources for headlines and returns one report. This is
# the view, loaded from `collector/views.py`: a loop that fetches each source with
# `requests`, one after the other. Two details are there for a deployment rather than for
# the lesson: the decorator `@guarded_collector` (`collector/guards.py`) answers GET only,
# refuses a request body and caps how many collections run at once; and
# `allow_redirects=False` reports a redirect instead of following it.

# %%
show_file("collector/views.py")

# %% [markdown]
# `collector.fake_news.FakeNewsServer` stands in for the news sites: blogs on a loopback
# port that answer after a delay (0.2 s here), plus a `/fail/` page that answers HTTP 500
# and a `/hang/` page that never answers. Its `sources()` method gives a mapping ready for
# the `NEWS_SOURCES` setting.
#
# We call the view with Django's test client for 1 to 6 sources and measure each call.

# %%
import time

import matplotlib.pyplot as plt
from django.test import Client, override_settings

from collector.fake_news import FakeNewsServer

DELAY = 0.2
MAX_SOURCES = 6
COLLECT_URL = "/collector/collect_news_sync/"

sweep = []  # (number of sources, elapsed seconds as the view reports it)
with FakeNewsServer(count=MAX_SOURCES, delay=DELAY) as news_server:
    all_sources = news_server.sources()
    for count in range(1, MAX_SOURCES + 1):
        sources = dict(list(all_sources.items())[:count])
        with override_settings(NEWS_SOURCES=sources, NEWS_TIMEOUT=5):
            report = Client().get(COLLECT_URL).json()
        sweep.append((count, report["elapsed_ms"] / 1000))

for count, seconds in sweep:
    print(f"{count} sources: {seconds:.2f} s")

# %%
counts = [count for count, _ in sweep]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(counts, [seconds for _, seconds in sweep], "o-", label="measured")
ax.plot(counts, [count * DELAY for count in counts], "--", label="sum of the delays")
ax.set_xlabel("number of news sources")
ax.set_ylabel("time of one call (s)")
ax.set_title("Sync collector: one source after the other")
ax.legend()
plt.show()

# %% [markdown]
# The time of a call grows with the number of sources: it is the sum of the delays (plus a
# few milliseconds of work per source). The sources could all be asked at once, but this
# view waits for each answer before it sends the next question.
#
# The last report of the sweep, per source: when the view began asking it (`started_ms`,
# after the call began) and how long it took. Each source starts once the one before it has
# answered, the staircase that the collector page (`/collector/`) draws:

# %%
for name, entry in report["sources"].items():
    timing = f"started at {entry['started_ms']} ms, took {entry['elapsed_ms']} ms"
    print(f"{name}: ok={entry['ok']}, {timing}, {entry['headlines']}")

# %% [markdown]
# ### A failing source, a hanging one, a redirect
#
# Two blogs, one source that answers HTTP 500, one that never answers and one that
# redirects, with a timeout of 0.5 s per source. The view still answers 200: each failure
# is reported in its own entry, with `ok: false` and the error.

# %%
with FakeNewsServer(count=2, delay=DELAY) as news_server:
    failing_sources = news_server.sources("fail", "hang", "redirect")
    with override_settings(NEWS_SOURCES=failing_sources, NEWS_TIMEOUT=0.5):
        response = Client().get(COLLECT_URL)

print(response.status_code, response.reason_phrase)
report = response.json()
for name, entry in report["sources"].items():
    print(f"{name}: ok={entry['ok']}, status={entry['status']}, error={entry['error']}")
print(f"whole call: {report['elapsed_ms'] / 1000:.2f} s")

# %% [markdown]
# The hanging source cost the whole timeout, added to the blogs' delays: a slow source
# makes every caller of this view wait.
#
# ### What the collector refuses
#
# The collector needs no login and each call asks every source, so it answers a plain GET
# only. Another method is a 405, a request body a 413 (the view reads none of it), and a
# call while `NEWS_MAX_COLLECTIONS` collections are running a 503 that says when to retry.
# Django logs each refusal, as it did for the API's above.

# %%
print("NEWS_MAX_COLLECTIONS =", settings.NEWS_MAX_COLLECTIONS)
refused = {
    "POST": Client().post(COLLECT_URL),
    "GET with a body": Client().generic("GET", COLLECT_URL, b"x" * 1000),
}
for what, response in refused.items():
    print(f"{what}: {response.status_code} {response.reason_phrase}, {response.json()}")

# %% [markdown]
# ### Two callers, one worker
#
# The test client runs the view in this kernel, so it never has to share. A real WSGI
# server does. `wsgiref`'s simple server, from Python's standard library, has a single
# worker: it answers one request at a time. Two people open the collector at the same
# moment (three sources of 0.2 s each):

# %%
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import requests


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        """No access log in the notebook."""


def call_collector(url, name, timings, t0):
    """GET the collector and record when the call started and ended, relative to t0."""
    started = time.perf_counter() - t0
    requests.get(url, timeout=10)
    timings[name] = (started, time.perf_counter() - t0)


timings = {}
with (
    FakeNewsServer(count=3, delay=DELAY) as news_server,
    override_settings(NEWS_SOURCES=news_server.sources(), NEWS_TIMEOUT=5),
):
    # The server answers in a thread of its own. That thread would not see the in-memory
    # database, which lives in the notebook's connection; the collector needs none.
    wsgi_server = make_server("127.0.0.1", 0, application, handler_class=QuietHandler)
    threading.Thread(target=wsgi_server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{wsgi_server.server_port}{COLLECT_URL}"
    t0 = time.perf_counter()
    callers = [
        threading.Thread(target=call_collector, args=(url, name, timings, t0))
        for name in ["caller A", "caller B"]
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    wsgi_server.shutdown()
    wsgi_server.server_close()

for name, (started, ended) in sorted(timings.items(), key=lambda item: item[1][1]):
    print(f"{name}: sent at {started:.2f} s, answered at {ended:.2f} s")

# %%
fig, ax = plt.subplots(figsize=(6, 1.8))
callers_in_order = sorted(timings, key=lambda name: timings[name][1])
for row, name in enumerate(callers_in_order):
    started, ended = timings[name]
    ax.barh(row, ended - started, left=started)
    ax.text(ended, row, f" {ended:.2f} s", va="center")
ax.set_yticks(range(len(timings)), callers_in_order)
ax.set_xlabel("seconds since both requests were sent")
ax.set_xlim(0, max(ended for _, ended in timings.values()) * 1.25)
ax.invert_yaxis()
plt.show()

# %% [markdown]
# Both requests left at once. One was answered after one collection, the other only after
# two: it waited in the queue while the only worker waited for the news sources. More
# workers raise that limit without removing it: with N workers, the next slow request
# after N waits in the same way.

# %% [markdown]
# ## 3. What polling costs
#
# The chat page of this step learns about new messages by asking. Every `POLL_SECONDS`
# seconds it sends two requests; here are the URLs, read from `static/chat/room.js`:

# %%
import re

from chat.views import POLL_SECONDS

room_js = (STEP / "static/chat/room.js").read_text()
polled_urls = re.findall(r"getJson\(\s*[`\"'](/api/[^`\"']*)", room_js)
print(f"POLL_SECONDS = {POLL_SECONDS}")
for polled_url in polled_urls:
    print("polled:", polled_url)

# %% [markdown]
# `${query}` is `?after=<id of the last message shown>` once the page shows a message.
# The page waits `POLL_SECONDS` after each pair of answers before it asks again, so an open
# page sends up to 2 × 60 / `POLL_SECONDS` requests a minute, whether anything happened
# or not. A classroom of 30 learners with the page open:

# %%
CLASSROOM = 30
per_page = len(polled_urls) * 60 / POLL_SECONDS
print(f"one open page: {per_page:.0f} requests a minute")
print(f"{CLASSROOM} open pages: {CLASSROOM * per_page:.0f} requests a minute")
print(f"{CLASSROOM * per_page / 60:.0f} requests a second, while the pages are open")

# %% [markdown]
# What does one poll cost the server when nothing is new? The browser sends its session
# cookie, so here the client logs alice in with a session (`force_login`) rather than
# `force_authenticate`: each request then also reads the session and the user, as in the
# browser. One poll is the two requests of the page. Nobody writes during the measurement,
# so the messages poll always answers an empty list, and the notifications poll the same
# list as the time before.

# %%
alice_page = Client()
alice_page.force_login(alice)
last_id = alice_api.get(messages_url).json()[-1]["id"]
poll_urls = [f"{messages_url}?after={last_id}", "/api/notifications/"]


def poll_once():
    """One round of the page's polling: (new messages, notifications)."""
    new_messages, notifications = (alice_page.get(url).json() for url in poll_urls)
    return new_messages, notifications


with CaptureQueriesContext(connection) as poll_queries:
    new_messages, notifications = poll_once()
# Count now: Django empties its query log when the next request starts.
queries_per_poll = len(poll_queries)
print(f"new messages: {new_messages}, notifications: {len(notifications)}")
print(f"\n{queries_per_poll} SQL queries for one poll:\n")
for number, query in enumerate(poll_queries.captured_queries, start=1):
    print(f"{number}. {query['sql']}\n")

# %%
POLLS = 200
new_message_count = 0
unchanged_notifications = 0
started = time.perf_counter()
for _ in range(POLLS):
    answer_messages, answer_notifications = poll_once()
    new_message_count += len(answer_messages)
    unchanged_notifications += answer_notifications == notifications
poll_seconds = (time.perf_counter() - started) / POLLS

print(f"{POLLS} polls, {POLLS * len(poll_urls)} requests: {POLLS * poll_seconds:.2f} s")
print(f"new messages: {new_message_count}")
print(f"polls with the same notifications as before: {unchanged_notifications}")
print(f"one poll: {poll_seconds * 1000:.1f} ms, {queries_per_poll} SQL queries")

# %% [markdown]
# Put together for one page and for the classroom. "work" is the time spent answering polls
# in a minute, measured on this machine with the test client, which leaves out the network
# and the WSGI server: read it as an order of magnitude.

# %%
polls_per_minute = 60 / POLL_SECONDS
rows = [("open pages", "requests/min", "SQL queries/min", "work, s/min")]
for pages in [1, CLASSROOM]:
    rows.append(
        (
            pages,
            f"{pages * polls_per_minute * len(poll_urls):.0f}",
            f"{pages * polls_per_minute * queries_per_poll:.0f}",
            f"{pages * polls_per_minute * poll_seconds:.2f}",
        )
    )
for row in rows:
    print("".join(f"{cell!s:>20}" for cell in row))

# %%
pages = list(range(0, 61, 5))
fig, ax = plt.subplots(figsize=(6, 3.5))
requests_per_page = polls_per_minute * len(poll_urls)
queries_per_page = polls_per_minute * queries_per_poll
ax.plot(pages, [p * requests_per_page for p in pages], label="HTTP requests")
ax.plot(pages, [p * queries_per_page for p in pages], label="SQL queries")
ax.axvline(CLASSROOM, color="grey", linestyle=":", label=f"{CLASSROOM} pages")
ax.set_xlabel("open chat pages")
ax.set_ylabel("per minute, with nothing new")
ax.set_title(f"Polling every {POLL_SECONDS} s")
ax.legend()
plt.show()

# %% [markdown]
# The cost grows with the number of open pages, not with the number of messages: a quiet
# room costs as many requests as a busy one. And a message waits up to `POLL_SECONDS` (plus the
# time of a poll) before the other members see it.
#
# ## Where it goes next
#
# Step 02 replaces the polling of messages with one WebSocket per page, at
# `/ws/conversations/<room_id>/`: the page opens it once, and the server pushes each new
# message down it when the message is sent; while nobody writes, the page sends no request
# for messages. Notifications are still polled there, until step 03 gives them a socket of
# their own. To hold many open connections at once, the project moves from WSGI to ASGI,
# with Django Channels and the Daphne server.

# %% [markdown]
# The notebook is done with its temporary database, so the next cell removes it (restart
# the kernel to run the notebook again). The learner's `db.sqlite3` was never opened.

# %%
from workshop_notebook import remove_database

print("removed:", remove_database())

# %% [markdown] tags=["navigation"]
# [step 01](../step01_sync_django/README.md) ·
# [02_channels_websockets](02_channels_websockets.ipynb) →
