"""The sync news collector against local fake blogs: success, failures, timeouts, and what it
refuses: other methods, request bodies, calls past its cap (step01)."""

import io
import json
import socket
import threading
from contextlib import contextmanager
from itertools import pairwise
from wsgiref.util import setup_testing_defaults

import pytest
import requests
from django.test import Client

from collector.fake_news import FakeNewsServer
from collector.news import headlines
from config.wsgi import application

URL = "/collector/collect_news_sync/"


def collect(settings, sources, timeout=5):
    settings.NEWS_SOURCES = sources
    settings.NEWS_TIMEOUT = timeout
    response = Client().get(URL)
    assert response.status_code == 200
    return response.json()


def unused_port():
    """A loopback port nobody listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_every_source_is_reported(settings, fake_news):
    report = collect(settings, fake_news.sources())

    assert set(report["sources"]) == {"blog-1", "blog-2", "blog-3"}
    blog = report["sources"]["blog-2"]
    assert blog["ok"] is True
    assert blog["status"] == 200
    assert blog["error"] is None
    assert blog["size"] > 0
    assert blog["headlines"] == ["Blog 2, story 1", "Blog 2, story 2", "Blog 2, story 3"]


def test_sources_are_fetched_one_after_the_other(settings, fake_news):
    report = collect(settings, fake_news.sources())

    # Each blog waits 0.1 s: one after the other, the call takes at least the sum.
    assert report["elapsed_ms"] >= 300
    assert report["elapsed_ms"] >= sum(s["elapsed_ms"] for s in report["sources"].values())


def test_each_source_starts_once_the_previous_one_has_answered(settings, fake_news):
    report = collect(settings, fake_news.sources())

    sources = list(report["sources"].values())
    assert sources[0]["started_ms"] >= 0
    for previous, source in pairwise(sources):
        previous_end = previous["started_ms"] + previous["elapsed_ms"]
        # Each figure is rounded to 0.1 ms: the sum of two may pass the next one by 0.15.
        assert source["started_ms"] >= previous_end - 0.2


def test_failing_source_is_reported_and_the_others_still_arrive(settings, fake_news):
    report = collect(settings, fake_news.sources("fail"))

    failed = report["sources"]["fail"]
    assert failed["ok"] is False
    assert failed["status"] == 500
    assert failed["error"] == "HTTP 500"
    assert failed["headlines"] == []
    assert all(report["sources"][f"blog-{n}"]["ok"] for n in (1, 2, 3))


def test_undecodable_source_is_reported_and_the_others_still_arrive(settings, fake_news):
    report = collect(settings, fake_news.sources("garbled"))

    garbled = report["sources"]["garbled"]
    assert garbled["ok"] is False
    # requests decodes the body before get() returns: no response, so no status to report.
    assert garbled["status"] is None
    assert garbled["error"].startswith("ContentDecodingError")
    assert "content-encoding: gzip" in garbled["error"]  # the entry says what was wrong
    assert garbled["headlines"] == []
    assert all(report["sources"][f"blog-{n}"]["ok"] for n in (1, 2, 3))


def test_a_body_nested_too_deeply_has_no_headlines_instead_of_crashing():
    # json.loads raises RecursionError, not ValueError, on 100,000 nested arrays (700 KB).
    assert headlines("[" * 100_000 + "]" * 100_000) == []


def test_missing_page_is_reported(settings, fake_news):
    report = collect(settings, {"gone": f"{fake_news.url}/blog/99/"})

    assert report["sources"]["gone"]["status"] == 404
    assert report["sources"]["gone"]["error"] == "HTTP 404"


def test_source_slower_than_the_timeout_is_reported(settings, fake_news):
    report = collect(settings, {"hang": f"{fake_news.url}/hang/"}, timeout=0.5)

    hang = report["sources"]["hang"]
    assert hang["ok"] is False
    assert hang["status"] is None
    assert hang["error"] == "timed out after 0.5 s"


def test_a_hanging_source_bounds_the_call_by_the_timeout(settings, fake_news):
    report = collect(settings, fake_news.sources("hang"), timeout=0.5)

    assert report["sources"]["hang"]["ok"] is False
    assert report["sources"]["blog-1"]["ok"] is True
    # Three blogs of 0.1 s plus one timeout of 0.5 s: far below a hang, whatever the machine.
    assert report["elapsed_ms"] < 0.5 * 1000 * 4


def test_unreachable_source_is_reported(settings, db):
    report = collect(settings, {"down": f"http://127.0.0.1:{unused_port()}/"})

    down = report["sources"]["down"]
    assert down["ok"] is False
    assert down["error"].startswith("ConnectionError")


def test_malformed_url_is_reported(settings, db):
    report = collect(settings, {"nonsense": "not a url"})

    assert report["sources"]["nonsense"]["ok"] is False
    assert report["sources"]["nonsense"]["error"].startswith("InvalidURL")


def test_no_login_is_needed(settings, fake_news):
    settings.NEWS_SOURCES = fake_news.sources()

    assert Client().get(URL).status_code == 200


@pytest.mark.parametrize("path", ["/blog/1/?delay=abc", "/nothing/"])
def test_fake_server_refuses_bad_requests_clearly(fake_news, path):
    response = requests.get(fake_news.url + path, timeout=5)

    assert response.status_code in (400, 404)
    assert "error" in response.json()


def test_redirect_is_reported_not_followed(settings, fake_news):
    report = collect(settings, {"moved": f"{fake_news.url}/redirect/"})

    moved = report["sources"]["moved"]
    assert (moved["ok"], moved["status"], moved["headlines"]) == (False, 302, [])
    assert moved["error"] == f"redirect to {fake_news.url}/blog/1/ not followed"


# Source URLs with a user, a password and an API key in the query string; "{fake}" is the fake
# news server's host and port, "{nobody}" a port nobody listens on.
SECRET_URLS = {
    "served": "http://reader:s3cret-pass@{fake}/blog/1/?api_key=s3cret-key",
    "redirected": "http://reader:s3cret-pass@{fake}/redirect/?api_key=s3cret-key",
    "refused": "http://reader:s3cret-pass@{nobody}/news/?api_key=s3cret-key",
    "not a URL": "http://reader:s3cret-pass@127.0.0.1:99999/news/?api_key=s3cret-key",
}


@pytest.mark.parametrize("template", SECRET_URLS.values(), ids=SECRET_URLS.keys())
def test_no_report_shows_the_secrets_of_a_source_url(settings, fake_news, template):
    fake, nobody = fake_news.url.removeprefix("http://"), f"127.0.0.1:{unused_port()}"
    settings.NEWS_SOURCES = {"secret": template.format(fake=fake, nobody=nobody)}

    response = Client().get(URL)

    assert response.status_code == 200
    assert b"s3cret" not in response.content  # neither the password nor the key, anywhere
    entry = response.json()["sources"]["secret"]
    assert entry["url"] == template.format(fake=fake, nobody=nobody).split("?")[0].replace(
        "reader:s3cret-pass@", ""
    )


def test_the_source_is_still_asked_with_its_whole_url(settings, fake_news):
    report = collect(settings, {"slow": f"{fake_news.url}/blog/1/?delay=abc"})

    # The fake blog refuses that delay: it did receive the query string the report hides.
    assert report["sources"]["slow"]["status"] == 400
    assert report["sources"]["slow"]["url"] == f"{fake_news.url}/blog/1/"


# --- What the collector refuses (collector/guards.py) ----------------------------------------

EIGHT_MIB = 8 * 1024 * 1024


class CountingBody(io.RawIOBase):
    """A request body of `size` bytes, made up only as it is read; counts the bytes read."""

    def __init__(self, size):
        self.size = size
        self.bytes_read = 0

    def read(self, size=-1):
        left = self.size - self.bytes_read
        size = left if size is None or size < 0 else min(size, left)
        self.bytes_read += size
        return b"x" * size

    def readline(self, size=-1):
        return self.read(size)


def call_wsgi(method, body_size, **environ):
    """A request sent into config.wsgi.application as a WSGI server sends it: (status, headers,
    JSON answer, how many bytes of the request body the project read)."""
    body = CountingBody(body_size)
    environ.update({"REQUEST_METHOD": method, "PATH_INFO": URL, "wsgi.input": body})
    setup_testing_defaults(environ)
    answer = {}

    def start_response(status, headers):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(headers)

    content = b"".join(application(environ, start_response))
    return answer["status"], answer["headers"], json.loads(content), body.bytes_read


# Requests no collector serves: (method, the request body's headers, the status answered).
REFUSED = {
    "POST with a body": ("POST", {"CONTENT_LENGTH": str(EIGHT_MIB)}, 405),
    "PUT with a body": ("PUT", {"CONTENT_LENGTH": str(EIGHT_MIB)}, 405),
    "DELETE": ("DELETE", {}, 405),
    "HEAD": ("HEAD", {}, 405),
    "GET with a body": ("GET", {"CONTENT_LENGTH": str(EIGHT_MIB)}, 413),
    "GET with a chunked body": ("GET", {"HTTP_TRANSFER_ENCODING": "chunked"}, 413),
}


@pytest.mark.parametrize("refused", REFUSED.values(), ids=REFUSED.keys())
def test_refused_request_gets_its_status_and_its_body_is_never_read(settings, db, refused):
    # (db: the WSGI handler's request_started closes old database connections; the test
    # client, which the other tests use, leaves that signal out.)
    method, body_headers, expected = refused
    settings.NEWS_SOURCES = {}  # if the view ran, it would answer 200 at once

    status, headers, answer, bytes_read = call_wsgi(method, EIGHT_MIB, **body_headers)

    assert status == expected
    assert headers.get("Allow") == ("GET" if expected == 405 else None)
    assert answer["error"]  # a sentence that says what was wrong
    assert bytes_read == 0  # not one byte of the 8 MiB


def test_post_gets_405_not_a_csrf_403(settings):
    response = Client(enforce_csrf_checks=True).post(URL, {"text": "hi"})

    assert response.status_code == 405
    assert response["Allow"] == "GET"


@contextmanager
def collection_running(settings):
    """A collection in a thread, holding its slot while the block runs (its one source hangs
    until the block ends). Yields the list that receives its response."""
    server = FakeNewsServer().start_in_thread()
    settings.NEWS_SOURCES = {"hangs": f"{server.url}/hang/"}
    responses = []
    caller = threading.Thread(target=lambda: responses.append(Client().get(URL)))
    caller.start()
    try:
        assert server.wait_for_in_flight(1)  # its source is asked: it holds a slot
        yield responses
    finally:
        server.stop()  # /hang/ is closed: the collection reports it and ends
        caller.join(timeout=30)


def test_a_collection_past_the_cap_gets_503_and_when_to_retry(settings):
    settings.NEWS_MAX_COLLECTIONS = 1
    settings.NEWS_TIMEOUT = 5

    with collection_running(settings) as first:
        response = Client().get(URL)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "NEWS_MAX_COLLECTIONS = 1" in response.json()["error"]
    assert first[0].status_code == 200  # the running collection still answered


def test_a_finished_collection_gives_its_slot_back(settings, fake_news):
    settings.NEWS_MAX_COLLECTIONS = 1
    with collection_running(settings) as first:
        pass

    assert first[0].status_code == 200
    assert collect(settings, fake_news.sources())["sources"]["blog-1"]["ok"] is True
