"""The collector page in a real browser: a call drawn as a timeline of its sources (step01;
served by Daphne from step02)."""

from itertools import pairwise

import pytest
from django.test import Client
from playwright.sync_api import expect

# One browser per suite: `make test` runs the browser tests in one pytest-xdist worker.
pytestmark = pytest.mark.xdist_group("browser")

# The report rounds each time to 0.1 ms: a bar may end up to a pixel past where the next starts.
ROUNDING_PX = 1


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


def timeline(page, collector):
    return page.locator(f'figure.timeline[data-collector="{collector}"]')


def bar_edges(figure):
    """(left, right) of each source's bar, in pixels, top to bottom."""
    boxes = [bar.bounding_box() for bar in figure.locator(".bar").all()]
    return [(box["x"], box["x"] + box["width"]) for box in boxes]


def test_the_page_needs_no_login():
    response = Client().get("/collector/")

    assert response.status_code == 200
    assert b">sync view</button>" in response.content


def test_a_call_draws_one_bar_per_source_with_the_total_time(new_page, page_url):
    page = new_page()
    page.goto(page_url)

    report = press(page, "sync view")

    figure = timeline(page, "sync view")
    expect(figure.locator(".source")).to_have_count(4)  # blog-1 to blog-3, and fail
    expect(figure.locator(".source .name")).to_have_text(["blog-1", "blog-2", "blog-3", "fail"])
    expect(figure.locator(".total")).to_have_text(f"{report['elapsed_ms']:,.1f} ms")


def test_a_failed_source_is_red_with_its_error(new_page, page_url):
    page = new_page()
    page.goto(page_url)

    press(page, "sync view")

    failed = timeline(page, "sync view").locator(".source", has_text="fail")
    expect(failed.locator(".outcome")).to_contain_text("HTTP 500")
    expect(failed.locator(".bar")).to_have_css("background-color", "rgb(176, 0, 32)")
    blog = timeline(page, "sync view").locator(".source", has_text="blog-1")
    expect(blog.locator(".bar")).not_to_have_css("background-color", "rgb(176, 0, 32)")


def test_the_sync_view_draws_a_staircase(new_page, page_url):
    page = new_page()
    page.goto(page_url)

    press(page, "sync view")

    figure = timeline(page, "sync view")
    expect(figure.locator(".bar")).to_have_count(4)
    edges = bar_edges(figure)
    # Each source was asked once the previous one had answered: each bar starts where the
    # one above it ended.
    for (_, previous_right), (left, _) in pairwise(edges):
        assert left >= previous_right - ROUNDING_PX
