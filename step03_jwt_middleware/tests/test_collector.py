"""The sync news collector against local fake blogs: success, failures, timeouts (step01)."""

import socket

import pytest
import requests
from django.test import Client

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
