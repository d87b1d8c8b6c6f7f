"""The three collectors side by side, through the full ASGI application (step05).

The sync view (requests, one source after the other), the native async view and the
AsyncHttpConsumer (aiohttp, all sources at once) answer the same JSON, report the same
failures, refuse the same requests, and differ in time: that is the lesson. Fake blogs run
on loopback.
"""

import asyncio
import json
import socket

import pytest
from channels.testing import HttpCommunicator

from collector.consumers import NewsCollectorAsyncConsumer
from collector.fake_news import FakeNewsServer
from config.asgi import application
from tests.asgi_requests import call
from tests.test_collector import SECRET_URLS
from tests.test_collector_asgi import EIGHT_MIB, REFUSED

SYNC = "/collector/collect_news_sync/"
ASYNC_VIEW = "/collector/collect_news_async_view/"
CONSUMER = "/collector/collect_news_async/"
COLLECTORS = {"sync view": SYNC, "async view": ASYNC_VIEW, "AsyncHttpConsumer": CONSUMER}
ASYNC_COLLECTORS = {"async view": ASYNC_VIEW, "AsyncHttpConsumer": CONSUMER}

every_collector = pytest.mark.parametrize("path", COLLECTORS.values(), ids=COLLECTORS.keys())
async_collectors = pytest.mark.parametrize(
    "path", ASYNC_COLLECTORS.values(), ids=ASYNC_COLLECTORS.keys()
)


# Channels' consumers close stale database connections before each event, in the thread
# that database_sync_to_async shares: a connection an earlier test of this worker opened
# there is then touched, which pytest-django allows only to a test marked for the database.
pytestmark = pytest.mark.django_db

HOST = [(b"host", b"127.0.0.1:8000")]  # what a browser or curl sends


async def collect(settings, path, sources, seconds=5, concurrency=100):
    """GET a collector through config.asgi.application; its JSON (after checking the 200)."""
    settings.NEWS_SOURCES = sources
    settings.NEWS_TIMEOUT = seconds
    settings.NEWS_CONCURRENCY = concurrency
    response = await get(application, path)
    assert response["status"] == 200
    return json.loads(response["body"])


async def get(app, path):
    """GET `path` from an ASGI application; the response, once the application has finished."""
    communicator = HttpCommunicator(app, "GET", path, headers=HOST)
    response = await communicator.get_response(timeout=60)
    await communicator.wait()  # no task of the application left pending after the test
    return response


def unused_port():
    """A loopback port nobody listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_consumer_answers_every_source_through_http_communicator(settings, fake_news):
    # The talk's test, on today's APIs: the consumer alone, no server, no router.
    settings.NEWS_SOURCES = fake_news.sources()

    response = await get(NewsCollectorAsyncConsumer.as_asgi(), CONSUMER)

    assert response["status"] == 200
    assert (b"Content-Type", b"application/json") in response["headers"]
    report = json.loads(response["body"])
    assert set(report["sources"]) == {"blog-1", "blog-2", "blog-3"}
    assert all(source["ok"] for source in report["sources"].values())
    assert report["sources"]["blog-3"]["headlines"][0] == "Blog 3, story 1"


@every_collector
async def test_every_collector_answers_the_same_json(settings, fake_news, path):
    report = await collect(settings, path, fake_news.sources())

    assert set(report) == {"sources", "elapsed_ms"}
    blog = report["sources"]["blog-2"]
    fields = {"ok", "status", "started_ms", "elapsed_ms", "size", "error", "url", "headlines"}
    assert set(blog) == fields
    assert (blog["ok"], blog["status"], blog["error"]) == (True, 200, None)
    assert blog["headlines"] == ["Blog 2, story 1", "Blog 2, story 2", "Blog 2, story 3"]


# How fast is measured by `make bench-collector`, side by side; these tests check how the
# sources are asked, which the fake server counts: all at once, or one after the other.


@async_collectors
async def test_async_collectors_fetch_the_sources_at_once(settings, path):
    with FakeNewsServer(count=10, delay=1.0) as server:
        report = await collect(settings, path, server.sources())

    assert all(source["ok"] for source in report["sources"].values())
    assert server.peak_in_flight == 10  # every source waited on at the same time


@async_collectors
async def test_async_collectors_ask_every_source_before_the_first_answers(
    settings, fake_news, path
):
    # /fail/ answers at once: even so, every source was asked before it answered.
    report = await collect(settings, path, fake_news.sources("fail"))

    sources = report["sources"].values()
    first_answer = min(source["started_ms"] + source["elapsed_ms"] for source in sources)
    assert max(source["started_ms"] for source in sources) < first_answer


async def test_sync_collector_fetches_one_source_after_the_other(settings):
    with FakeNewsServer(count=5, delay=0.1) as server:
        report = await collect(settings, SYNC, server.sources())

    assert all(source["ok"] for source in report["sources"].values())
    assert server.peak_in_flight == 1  # never two sources at once


# Each failure, for each collector: (the path on the fake server, or a URL; the status;
# the start of the error for the sync view and for the async collectors; "{fake}" stands for
# the fake server's URL, "{seconds}" for the timeout).
REDIRECTED = "redirect to {fake}/blog/1/ not followed"
TIMED_OUT = "timed out after {seconds} s"
FAILURES = {
    "refused": (None, None, "ConnectionError", "ClientConnectorError"),
    "HTTP 500": ("fail", 500, "HTTP 500", "HTTP 500"),
    "hangs past the timeout": ("hang", None, TIMED_OUT, TIMED_OUT),
    "undecodable bytes": ("garbled", None, "ContentDecodingError", "ClientPayloadError"),
    "not a URL": ("not a url", None, "InvalidURL", "InvalidUrlClientError"),
    "redirects": ("redirect", 302, REDIRECTED, REDIRECTED),
}


@every_collector
@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
async def test_a_failing_source_is_reported_in_its_own_entry(settings, fake_news, path, failure):
    where, status, sync_error, async_error = failure
    if where is None:
        url = f"http://127.0.0.1:{unused_port()}/"
    elif " " in where:
        url = where
    else:
        url = f"{fake_news.url}/{where}/"

    # The blogs answer in 0.1 s; 5 s leaves them time on a machine busy with other tests (1 s
    # did not, once); only a hanging source waits it out, so it gets 2.
    seconds = 2 if where == "hang" else 5
    report = await collect(settings, path, {**fake_news.sources(), "bad": url}, seconds=seconds)

    bad = report["sources"]["bad"]
    assert (bad["ok"], bad["status"], bad["headlines"]) == (False, status, [])
    expected = sync_error if path == SYNC else async_error
    assert bad["error"].startswith(expected.format(fake=fake_news.url, seconds=seconds))
    assert all(report["sources"][f"blog-{n}"]["ok"] for n in (1, 2, 3))


@async_collectors
@pytest.mark.parametrize("concurrency", [100, 4], ids=["no cap reached", "capped at 4"])
async def test_any_number_of_hanging_sources_costs_about_one_timeout(
    settings, fake_news, path, concurrency
):
    hanging = {f"hang-{n}": f"{fake_news.url}/hang/" for n in range(20)}

    report = await collect(settings, path, hanging, seconds=1, concurrency=concurrency)

    assert {source["error"] for source in report["sources"].values()} == {"timed out after 1 s"}
    # About one timeout (1 s), whatever the number of sources. What this rules out: a timeout
    # per source (20 s one after the other), or per batch of 4 under the cap (5 s). Wide of
    # 1 s on purpose, for a busy machine: it tests what the timeout counts, not speed.
    assert report["elapsed_ms"] < 4 * 1000


@async_collectors
async def test_news_concurrency_caps_the_simultaneous_connections(settings, path):
    with FakeNewsServer(count=9, delay=0.2) as server:
        report = await collect(settings, path, server.sources(), concurrency=3)

    assert all(source["ok"] for source in report["sources"].values())
    assert server.peak_in_flight == 3


@every_collector
@pytest.mark.parametrize("template", SECRET_URLS.values(), ids=SECRET_URLS.keys())
async def test_no_collector_shows_the_secrets_of_a_source_url(settings, fake_news, path, template):
    fake, nobody = fake_news.url.removeprefix("http://"), f"127.0.0.1:{unused_port()}"
    settings.NEWS_SOURCES = {"secret": template.format(fake=fake, nobody=nobody)}

    response = await get(application, path)

    assert response["status"] == 200
    assert b"s3cret" not in response["body"]  # neither the password nor the key, anywhere
    entry = json.loads(response["body"])["sources"]["secret"]
    assert "reader" not in entry["url"] and "?" not in entry["url"]


# What the collectors refuse (collector/guards.py), with step02's catalogue: the sync view's
# refusals under ASGI are tested there (tests/test_collector_asgi.py). The async view has the
# same guard in front of it, the consumer a guard of its own.


@async_collectors
@pytest.mark.parametrize("refused", REFUSED.values(), ids=REFUSED.keys())
async def test_refused_request_is_answered_after_one_chunk_of_its_body_at_most(
    settings, path, refused
):
    method, body_headers, expected = refused
    settings.NEWS_SOURCES = {}  # if the collector ran, it would answer 200 at once

    status, headers, body, chunks_read = await call(
        application, method, path, body_size=EIGHT_MIB, headers=body_headers
    )

    assert status == expected
    assert headers.get("allow") == ("GET" if expected == 405 else None)
    assert json.loads(body)["error"]  # a sentence that says what was wrong
    # The first chunk of 64 KiB at most: AsyncHttpConsumer would gather all 128 before
    # handle(), Django's handler before the view.
    assert chunks_read <= 1


# (the collector that runs, the one called meanwhile): each collector is both, once.
CAP_PAIRS = {
    "sync view running, consumer called": (SYNC, CONSUMER),
    "consumer running, async view called": (CONSUMER, ASYNC_VIEW),
    "async view running, sync view called": (ASYNC_VIEW, SYNC),
}


@pytest.mark.parametrize("pair", CAP_PAIRS.values(), ids=CAP_PAIRS.keys())
async def test_one_cap_counts_the_collections_of_every_collector(settings, pair):
    running, called = pair
    settings.NEWS_MAX_COLLECTIONS = 1
    settings.NEWS_TIMEOUT = 5
    server = FakeNewsServer().start_in_thread()
    settings.NEWS_SOURCES = {"hangs": f"{server.url}/hang/"}
    first = asyncio.create_task(get(application, running))
    try:
        # Its source is asked: it holds a slot.
        assert await asyncio.to_thread(server.wait_for_in_flight, 1)
        response = await get(application, called)
    finally:
        await asyncio.to_thread(server.stop)  # /hang/ is closed: the first collection ends

    assert response["status"] == 503
    headers = {name.lower(): value for name, value in response["headers"]}
    assert headers[b"retry-after"] == b"5"
    assert "NEWS_MAX_COLLECTIONS = 1" in json.loads(response["body"])["error"]
    assert (await first)["status"] == 200  # the running collection still answered


@every_collector
async def test_a_finished_collection_gives_its_slot_back(settings, fake_news, path):
    settings.NEWS_MAX_COLLECTIONS = 1

    for _ in range(2):  # the second would get a 503 if the first had kept its slot
        report = await collect(settings, path, fake_news.sources())

    assert report["sources"]["blog-1"]["ok"] is True


async def test_every_other_path_still_reaches_django(db):
    response = await get(application, "/api/rooms/")

    assert response["status"] == 403  # Django REST framework's answer to an anonymous caller
    assert json.loads(response["body"]) == {
        "detail": "Authentication credentials were not provided."
    }
