"""End to end in a real browser: two people in one room, served by Daphne (step01, step02)."""

import pytest
from playwright.sync_api import expect

# One browser per suite: `make test` runs the browser tests in one pytest-xdist worker
# (--dist loadgroup), not one Chromium in each worker.
pytestmark = pytest.mark.xdist_group("browser")

# The socket brings a message at once (notifications within one 2 s poll); allow for a
# slow machine.
ARRIVAL_TIMEOUT_MS = 10_000
READY_STATUS = "Live: connected by WebSocket."
# After a drop the page waits longer before each attempt, up to 30 s (MAX_RETRY_SECONDS in
# room.js): a server slow to come back may cost one such wait.
RECONNECT_TIMEOUT_MS = 45_000


def open_room_as(new_page, server_url, username):
    """A fresh browser context (its own cookies), logged in through the login form."""
    page = new_page()
    page.goto(f"{server_url}/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "workshop")
    page.click("button[type=submit]")
    expect(page.locator("#chat h1")).to_have_text("Lobby")
    expect(page.locator("#status")).to_contain_text(READY_STATUS)
    return page


@pytest.fixture
def server_url(daphne, lobby):
    return daphne.url


def test_message_from_alice_appears_on_bobs_page(new_page, server_url):
    alice = open_room_as(new_page, server_url, "alice")
    bob = open_room_as(new_page, server_url, "bob")

    alice.fill("#message-text", "Hello Bob, from the browser")
    alice.click("#message-form button")

    expect(alice.locator("#messages")).to_contain_text("Hello Bob, from the browser")
    expect(bob.locator("#messages")).to_contain_text(
        "Hello Bob, from the browser", timeout=ARRIVAL_TIMEOUT_MS
    )
    expect(bob.locator("#notifications")).to_contain_text(
        "alice wrote in Lobby", timeout=ARRIVAL_TIMEOUT_MS
    )


def test_refused_message_is_explained_on_the_page(new_page, server_url):
    alice = open_room_as(new_page, server_url, "alice")

    # The input's own `required` stops an empty form, so send spaces: the API refuses them.
    alice.fill("#message-text", "   ")
    alice.click("#message-form button")

    expect(alice.locator("#error")).to_have_text("text: This field may not be blank.")


def test_page_reconnects_when_the_server_comes_back(new_page, page_problems, server_url, daphne):
    alice = open_room_as(new_page, server_url, "alice")
    # While the server is down, the page's attempts fail: errors a learner would see too,
    # and the reason the page retries.
    page_problems.allow_server_outage()

    daphne.stop()
    expect(alice.locator("#status")).to_contain_text("reconnecting")
    daphne.start()

    expect(alice.locator("#status")).to_have_text(READY_STATUS, timeout=RECONNECT_TIMEOUT_MS)
    alice.fill("#message-text", "back again")
    alice.click("#message-form button")
    expect(alice.locator("#messages")).to_contain_text("back again")
