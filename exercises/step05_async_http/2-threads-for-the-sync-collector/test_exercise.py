"""The check of step05's exercise 2: GET /collector/collect_news_threads/, the sync collector
with its sources asked at the same time, in threads.

`make exercise STEP=5 EX=2` copies it into the step's tests/ and runs it there, with the
step's fixtures (tests/conftest.py): `fake_news`, three fake blogs on loopback.
"""

import pytest
from django.test import Client

from collector.fake_news import FakeNewsServer

THREADS = "/collector/collect_news_threads/"
SYNC = "/collector/collect_news_sync/"


def collect(settings, path, sources):
    """GET a collector with these NEWS_SOURCES; its JSON, after checking the 200."""
    settings.NEWS_SOURCES = sources
    settings.NEWS_TIMEOUT = 5
    response = Client().get(path)
    assert response.status_code == 200, (
        f"GET {path} answered {response.status_code}: is it in a URL map (config/urls.py)?"
    )
    return response.json()


def test_the_threaded_collector_reports_every_source(settings, fake_news):
    report = collect(settings, THREADS, fake_news.sources())

    sources = report.get("sources", {})
    assert sorted(sources) == ["blog-1", "blog-2", "blog-3"], f"one entry per source: {report}"
    assert all(entry.get("ok") for entry in sources.values()), f"every blog answers: {report}"


def test_its_sources_are_asked_at_the_same_time(settings):
    with FakeNewsServer(count=5, delay=1.0) as server:
        collect(settings, THREADS, server.sources())

    assert server.peak_in_flight == 5, (
        f"at most {server.peak_in_flight} of the 5 sources were being asked at once: each "
        "fetch_source call should run in a thread of its own"
    )


def test_its_report_has_the_shape_of_the_sync_view_report(settings, fake_news):
    threaded = collect(settings, THREADS, fake_news.sources())
    sync = collect(settings, SYNC, fake_news.sources())

    assert set(threaded) == set(sync), f"top-level keys {set(threaded)}, not {set(sync)}"
    entry, expected = threaded["sources"]["blog-1"], sync["sources"]["blog-1"]
    assert set(entry) == set(expected), (
        f"a source's entry has the keys {sorted(entry)}; the sync view's has {sorted(expected)}"
    )


def test_a_failing_source_is_reported_not_raised(settings, fake_news):
    report = collect(settings, THREADS, fake_news.sources("fail"))

    failed = report["sources"]["fail"]
    assert (failed["ok"], failed["status"]) == (False, 500), (
        f"the /fail/ source answers 500: its entry should say so; it is {failed}"
    )


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_another_method_is_refused_as_by_the_other_collectors(method):
    response = getattr(Client(), method)(THREADS)

    assert response.status_code == 405, (
        f"{method.upper()} {THREADS} answered {response.status_code}, not 405: the collectors' "
        "guard (collector/guards.py) refuses it"
    )
