"""The collector page in a real browser: a call drawn as a timeline of its sources (step01;
served by Daphne from step02; the three collectors side by side from step05)."""

from itertools import pairwise
from urllib.parse import urlsplit

import pytest
from django.test import Client
from playwright.sync_api import expect

# One browser per suite: `make test` runs the browser tests in one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("browser")

# The report rounds each time to 0.1 ms: a bar may end up to a pixel past where the next starts.
ROUNDING_PX = 1
COLLECTORS = {
    "sync view": "/collector/collect_news_sync/",
    "async view": "/collector/collect_news_async_view/",
    "AsyncHttpConsumer": "/collector/collect_news_async/",
}
ASYNC_COLLECTORS = ["async view", "AsyncHttpConsumer"]
FAILED_RED = "rgb(176, 0, 32)"


@pytest.fixture
def page_url(settings, fake_news, start_daphne):
    # Daphne gets the settings by value when it starts: set them first.
    settings.NEWS_SOURCES = fake_news.sources("fail")
    settings.NEWS_TIMEOUT = 5
    return f"{start_daphne().url}/collector/"


def press(page, collector):
    """Press a collector's button; the JSON report its call answered."""
    with page.expect_response(lambda response: "/collector/collect_" in response.url) as answer:
        page.get_by_role("button", name=collector, exact=True).click()
    return answer.value.json()


def press_all(page):
    """Press the three buttons one after the other, without waiting: each collector's report."""
    answers = {}
    page.on("response", lambda response: answers.setdefault(urlsplit(response.url).path, response))
    for collector in COLLECTORS:
        page.get_by_role("button", name=collector, exact=True).click()
    for collector in COLLECTORS:
        expect(timeline(page, collector).locator(".total")).to_be_visible()
    return {collector: answers[path].json() for collector, path in COLLECTORS.items()}


def timeline(page, collector):
    return page.locator(f'figure.timeline[data-collector="{collector}"]')


def bar_edges(figure):
    """(left, right) of each source's bar, in pixels, top to bottom."""
    boxes = [bar.bounding_box() for bar in figure.locator(".bar").all()]
    return [(box["x"], box["x"] + box["width"]) for box in boxes]


def ticks(figure):
    """The time axis under a timeline: (label, x in pixels) of each tick."""
    return [(tick.inner_text(), tick.bounding_box()["x"]) for tick in figure.locator(".tick").all()]


def test_the_page_needs_no_login():
    response = Client().get("/collector/")

    assert response.status_code == 200
    for collector in COLLECTORS:
        assert f">{collector}</button>".encode() in response.content


def test_each_call_draws_one_bar_per_source_with_the_total_time(new_page, page_url):
    page = new_page()
    page.goto(page_url)

    reports = press_all(page)

    for collector, report in reports.items():
        figure = timeline(page, collector)
        expect(figure.locator(".source .name")).to_have_text(["blog-1", "blog-2", "blog-3", "fail"])
        expect(figure.locator(".total")).to_have_text(f"{report['elapsed_ms']:,.1f} ms")


def test_a_failed_source_is_red_with_its_error(new_page, page_url):
    page = new_page()
    page.goto(page_url)

    press_all(page)

    for collector in COLLECTORS:
        failed = timeline(page, collector).locator(".source", has_text="fail")
        expect(failed.locator(".outcome")).to_contain_text("HTTP 500")
        expect(failed.locator(".bar")).to_have_css("background-color", FAILED_RED)
        blog = timeline(page, collector).locator(".source", has_text="blog-1")
        expect(blog.locator(".bar")).not_to_have_css("background-color", FAILED_RED)


def test_the_sync_view_draws_a_staircase_and_the_async_collectors_a_stack(new_page, page_url):
    page = new_page()
    page.goto(page_url)

    press_all(page)

    sync = bar_edges(timeline(page, "sync view"))
    # Each source was asked once the previous one had answered: each bar starts where the
    # one above it ended.
    for (_, previous_right), (left, _) in pairwise(sync):
        assert left >= previous_right - ROUNDING_PX
    for collector in ASYNC_COLLECTORS:
        edges = bar_edges(timeline(page, collector))
        # Every source was asked before the first one answered: all the bars overlap.
        assert max(left for left, _ in edges) < min(right for _, right in edges)


def test_the_timelines_stand_one_under_the_other_on_one_time_scale(new_page, page_url):
    page = new_page()
    page.goto(page_url)

    press_all(page)

    # In the buttons' order, whichever answered first; the same ticks at the same places.
    expect(page.locator("figure.timeline figcaption strong")).to_have_text(list(COLLECTORS))
    axes = [ticks(timeline(page, collector)) for collector in COLLECTORS]
    assert axes[0] == axes[1] == axes[2]


def test_a_second_call_replaces_that_collectors_timeline_only(new_page, page_url):
    page = new_page()
    page.goto(page_url)
    first = press_all(page)

    second = press(page, "sync view")

    expect(page.locator("figure.timeline")).to_have_count(3)
    expect(timeline(page, "sync view").locator(".total")).to_have_text(
        f"{second['elapsed_ms']:,.1f} ms"
    )
    expect(timeline(page, "async view").locator(".total")).to_have_text(
        f"{first['async view']['elapsed_ms']:,.1f} ms"
    )
