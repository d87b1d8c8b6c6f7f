"""End to end in a real browser: two people in one room, served by Daphne (step01 to step04).

From step03 the page opens its two sockets (the room, the person's notifications) with a
JWT, and renews it when the server closes a socket because the token expired. From step04
two Daphne processes share their groups through Redis, a Redis outage loses nothing, and a
member removed from the room is told so.
"""

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from playwright.sync_api import expect
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from chat.models import Message

# One browser per suite: `make test` runs the browser tests in one pytest-xdist worker
# (--dist loadgroup), not one Chromium in each worker.
pytestmark = pytest.mark.xdist_group("browser")

# The sockets bring a message at once; allow for a slow machine.
ARRIVAL_TIMEOUT_MS = 10_000
READY_STATUS = "Live: connected by WebSocket."
# After a drop the page waits longer before each attempt, up to 30 s (MAX_RETRY_SECONDS in
# room.js): a server slow to come back may cost one such wait.
RECONNECT_TIMEOUT_MS = 45_000


def open_room_as(new_page, server_url, username, room=None):
    """A fresh browser context (its own cookies), logged in through the login form."""
    return log_in(new_page(), server_url, username, room)


def log_in(page, server_url, username, room=None):
    """`page` logged in through the login form, with both its sockets live."""
    page.goto(f"{server_url}/" + (f"?room={room.id}" if room else ""))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "workshop")
    page.click("button[type=submit]")
    expect(page.locator("#chat h1")).to_have_text(room.name if room else "Lobby")
    expect(page.locator("#status")).to_contain_text(READY_STATUS)
    # Its history shown: no request of the page is left that a test's change could refuse.
    expect(page.locator("#messages")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#notifications-status")).to_have_text("Live.")
    return page


def send(page, text):
    page.fill("#message-text", text)
    page.click("#message-form button")


@pytest.fixture
def server_url(daphne, lobby, alice_and_bob):
    return daphne.url


@pytest.fixture
def serve_with_token_lifetimes(settings, start_daphne, lobby, alice_and_bob):
    """`serve_with_token_lifetimes(access, refresh)`: Daphne whose tokens live that long."""

    def serve(access, refresh):
        lifetimes = {"ACCESS_TOKEN_LIFETIME": access, "REFRESH_TOKEN_LIFETIME": refresh}
        settings.SIMPLE_JWT = {**settings.SIMPLE_JWT, **lifetimes}
        return start_daphne(setup="tests.test_browser.token_lifetimes_from_settings").url

    return serve


def token_lifetimes_from_settings():
    """In the server's process: simplejwt copies the lifetimes from the settings into its token
    classes when it is first imported, which a forked server did before the test changed them."""
    from django.conf import settings

    AccessToken.lifetime = settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"]
    RefreshToken.lifetime = settings.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"]


def test_message_from_alice_appears_on_bobs_page(new_page, server_url):
    alice = open_room_as(new_page, server_url, "alice")
    bob = open_room_as(new_page, server_url, "bob")

    send(alice, "Hello Bob, from the browser")

    expect(alice.locator("#messages")).to_contain_text("Hello Bob, from the browser")
    expect(bob.locator("#messages")).to_contain_text(
        "Hello Bob, from the browser", timeout=ARRIVAL_TIMEOUT_MS
    )
    expect(bob.locator("#notifications")).to_contain_text(
        "alice wrote in Lobby", timeout=ARRIVAL_TIMEOUT_MS
    )


def test_bobs_notification_counter_rises_live_when_alice_writes_elsewhere(
    new_page, server_url, alice_and_bob
):
    bob = open_room_as(new_page, server_url, "bob")
    alice = open_room_as(new_page, server_url, "alice", room=alice_and_bob)
    expect(bob.locator("#notification-count")).to_have_text("0")

    send(alice, "Are you there, Bob?")
    expect(bob.locator("#notification-count")).to_have_text("1", timeout=ARRIVAL_TIMEOUT_MS)
    send(alice, "Bob?")

    expect(bob.locator("#notification-count")).to_have_text("2", timeout=ARRIVAL_TIMEOUT_MS)
    expect(bob.locator("#notifications li").first).to_have_text("alice wrote in Alice & Bob")
    expect(bob.locator("#messages")).not_to_contain_text("Are you there")  # another room


def test_a_notification_that_overtakes_the_stored_list_stays_counted(
    new_page, server_url, alice_and_bob
):
    # As its notification socket opens, bob's page asks for the stored list. Here the answer
    # is held back until a live frame has come, as from a slow server: merged, not replaced.
    alice = open_room_as(new_page, server_url, "alice", room=alice_and_bob)
    bob, held = new_page(), []
    bob.route("**/api/notifications/", lambda route: held.append((route, route.fetch())))
    log_in(bob, server_url, "bob")
    deadline = time.monotonic() + ARRIVAL_TIMEOUT_MS / 1000
    while not held and time.monotonic() < deadline:  # the handler runs while the page waits
        bob.wait_for_timeout(20)
    assert held, "bob's page did not ask for its notifications"

    send(alice, "Are you there, Bob?")
    expect(bob.locator("#notification-count")).to_have_text("1", timeout=ARRIVAL_TIMEOUT_MS)
    route, stored_before_the_message = held.pop()
    route.fulfill(response=stored_before_the_message)

    expect(bob.locator("#notifications li")).to_have_text(["alice wrote in Alice & Bob"])
    expect(bob.locator("#notification-count")).to_have_text("1")


def test_messages_whose_frames_never_came_are_fetched_after_a_gap_and_after_a_burst(
    new_page, server_url, lobby, users
):
    # Messages stored with no broadcast (bulk_create sends no post_save, in any step) stand
    # for frames the channel layer dropped: bob's page must fetch them all the same.
    Message.objects.bulk_create([Message(room=lobby, author=users["carol"], text="Before")])
    alice = open_room_as(new_page, server_url, "alice")
    bob = new_page()
    bob.clock.install()  # bob's timers and Date, so that a slow server cannot space his frames
    log_in(bob, server_url, "bob")
    expect(bob.locator("#messages")).to_contain_text("Before")  # its history is loaded
    bob.clock.pause_at(time.time() + 1)  # from now on, his page's time moves only when told
    shown = ["Before"]

    def store_unbroadcast(texts):
        Message.objects.bulk_create(
            Message(room=lobby, author=users["carol"], text=t) for t in texts
        )
        shown.extend(texts)

    def expect_every_message_in_order():
        texts = [re.compile(re.escape(text)) for text in shown]
        expect(bob.locator("#messages li")).to_have_text(texts, timeout=ARRIVAL_TIMEOUT_MS)

    # A burst's end: nothing comes after the last frames to show the gap. Having seen frames
    # come close together, the page asks once more a second after the last (QUIET_MS).
    burst = [f"Burst {n}." for n in range(1, 11)]
    alice.evaluate(
        """(texts) => texts.forEach((text) =>
            roomLive.socket.send(JSON.stringify({type: "message", text})))""",
        burst,
    )
    shown.extend(burst)
    expect(bob.locator("#messages")).to_contain_text(burst[-1], timeout=ARRIVAL_TIMEOUT_MS)
    store_unbroadcast([f"Dropped {n}." for n in range(1, 4)])
    bob.clock.fast_forward(2000)  # past QUIET_MS (1 s)
    expect_every_message_in_order()

    # A gap: the next frame's previousId is newer than anything bob's page shows. More than
    # one page of the API (100).
    store_unbroadcast([f"Missed {n}." for n in range(1, 151)])
    send(alice, "After the gap")
    shown.append("After the gap")
    expect_every_message_in_order()


def test_refused_message_is_explained_on_the_page(new_page, server_url):
    alice = open_room_as(new_page, server_url, "alice")

    # The input's own `required` stops an empty form, so send spaces: the socket refuses them.
    send(alice, "   ")

    expect(alice.locator("#error")).to_have_text("text: This field may not be blank.")


def test_page_reconnects_when_the_server_comes_back(new_page, page_problems, server_url, daphne):
    alice = open_room_as(new_page, server_url, "alice")
    # While the server is down, the page's attempts fail: errors a learner would see too,
    # and the reason the page retries.
    page_problems.allow_server_outage()

    daphne.stop()
    expect(alice.locator("#status")).to_contain_text("reconnecting")
    # Typed while the server is away: the text waits in its box, and leaves on reconnect.
    send(alice, "typed while away")
    expect(alice.locator("#error")).to_have_text(
        "Not connected: your message will be sent when the connection is back."
    )
    expect(alice.locator("#message-text")).to_have_value("typed while away")
    daphne.start()

    expect(alice.locator("#status")).to_have_text(READY_STATUS, timeout=RECONNECT_TIMEOUT_MS)
    expect(alice.locator("#messages")).to_contain_text("typed while away")
    expect(alice.locator("#message-text")).to_have_value("")
    expect(alice.locator("#error")).to_be_hidden()
    send(alice, "back again")
    expect(alice.locator("#messages")).to_contain_text("back again")


def test_a_socket_closed_right_after_opening_keeps_the_page_backing_off(new_page, server_url):
    # The room's first socket reaches the server. Every later one is answered by a stand-in
    # that accepts it and closes it as soon as the page asks to catch up: a server that
    # fails right after each handshake.
    page, sockets = new_page(), []

    def first_to_the_server(socket):
        if not sockets:
            socket.connect_to_server()
        sockets.append(socket)

    def close_the_stand_in(route):
        if len(sockets) > 1:
            sockets[-1].close()
        route.continue_()

    page.route_web_socket(re.compile(r"/ws/conversations/"), first_to_the_server)
    log_in(page, server_url, "alice")
    page.route(re.compile(r"/api/rooms/\d+/messages/"), close_the_stand_in)
    sockets[0].close()  # the first drop, after which the page waits 1 s

    # Then 2 s, then 4 s: a socket that closed within STABLE_MS (5 s in room.js) of opening
    # does not start the backoff again at 1 s.
    expect(page.locator("#status")).to_contain_text(
        "reconnecting in 4 s", timeout=ARRIVAL_TIMEOUT_MS
    )


def test_page_survives_its_access_token_expiring(new_page, serve_with_token_lifetimes):
    server_url = serve_with_token_lifetimes(timedelta(seconds=5), timedelta(hours=1))
    alice = open_room_as(new_page, server_url, "alice")
    bob = open_room_as(new_page, server_url, "bob")

    # Nobody does anything: the server closes both sockets with 4401, the pages renew.
    for page in (alice, bob):
        expect(page.locator("#status")).to_contain_text(
            "Access token renewed", timeout=ARRIVAL_TIMEOUT_MS
        )
    expect(alice.locator("#status")).to_contain_text(READY_STATUS, timeout=ARRIVAL_TIMEOUT_MS)
    # Sent whether alice's socket is open or reconnecting at that instant (every 5 s here).
    send(alice, "still here after the renewal")

    expect(alice.locator("#messages")).to_contain_text(
        "still here after the renewal", timeout=ARRIVAL_TIMEOUT_MS
    )
    expect(bob.locator("#messages")).to_contain_text(
        "still here after the renewal", timeout=ARRIVAL_TIMEOUT_MS
    )
    expect(bob.locator("#notification-count")).to_have_text("1", timeout=ARRIVAL_TIMEOUT_MS)


def test_page_asks_to_log_in_again_once_logged_out_in_another_tab(
    new_page, page_problems, serve_with_token_lifetimes
):
    server_url = serve_with_token_lifetimes(timedelta(seconds=5), timedelta(hours=1))
    alice = open_room_as(new_page, server_url, "alice")
    # Another tab of the same browser (the same session cookie): alice logs out there.
    other_tab = alice.context.new_page()
    page_problems.watch(other_tab)
    other_tab.goto(f"{server_url}/accounts/login/")
    other_tab.click("form.logout button")
    expect(other_tab.locator("form.logout")).to_have_count(0)
    # The token endpoint's 403 is the answer under test; Chromium logs it as an error.
    page_problems.allow(r"\b403\b")

    # When its access token expires (5 s here), the page asks its session for a new one.
    expect(alice.locator("#error")).to_contain_text(
        "your login has expired", timeout=ARRIVAL_TIMEOUT_MS
    )
    expect(alice.locator("#error a")).to_have_text("Log in again")
    expect(alice.locator("#status")).to_have_text("Offline: your login has expired.")


def post_through(server_url, room, username, text):
    """POST a message to a server's API, as curl would; the HTTP status."""
    response = requests.post(
        f"{server_url}/api/rooms/{room.id}/messages/",
        json={"text": text},
        auth=(username, "workshop"),
        timeout=10,
    )
    return response.status_code


def test_bobs_page_on_server_b_shows_alices_message_from_server_a(
    new_page, use_redis, start_daphne, lobby
):
    use_redis()
    server_a, server_b = start_daphne(), start_daphne()
    alice = open_room_as(new_page, server_a.url, "alice")
    bob = open_room_as(new_page, server_b.url, "bob")

    send(alice, "Hello from server A")

    expect(bob.locator("#messages")).to_contain_text(
        "Hello from server A", timeout=ARRIVAL_TIMEOUT_MS
    )
    expect(bob.locator("#notification-count")).to_have_text("1", timeout=ARRIVAL_TIMEOUT_MS)


def test_after_a_redis_restart_bobs_page_shows_every_message_stored_meanwhile(
    new_page, redis_server, use_redis, start_daphne, lobby
):
    use_redis(redis_server.url)
    server_a, server_b = start_daphne(), start_daphne()
    bob = open_room_as(new_page, server_b.url, "bob")

    redis_server.stop()
    expect(bob.locator("#status")).to_contain_text("reconnecting", timeout=ARRIVAL_TIMEOUT_MS)
    statuses = [post_through(server_a.url, lobby, "alice", f"while away {n}") for n in (1, 2)]
    redis_server.start()

    assert statuses == [201, 201]
    expect(bob.locator("#status")).to_have_text(READY_STATUS, timeout=RECONNECT_TIMEOUT_MS)
    expect(bob.locator("#messages")).to_contain_text("while away 1")
    expect(bob.locator("#messages")).to_contain_text("while away 2")
    expect(bob.locator("#notification-count")).to_have_text("2", timeout=ARRIVAL_TIMEOUT_MS)


def test_bobs_page_says_he_is_no_longer_a_member_and_stops_reconnecting(
    new_page, use_redis, start_daphne, lobby, alice_and_bob, users
):
    # The removal is made here, in another process than the server's: Redis carries it.
    use_redis()
    server = start_daphne()
    bob = new_page()
    bob.clock.install()  # the page's timers, to jump past every reconnect delay below
    log_in(bob, server.url, "bob")
    new_sockets = []
    bob.on("websocket", lambda socket: new_sockets.append(socket.url))

    # In a thread of its own: the signal's async_to_sync refuses the thread of Playwright's loop.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(lobby.members.remove, users["bob"]).result()

    expect(bob.locator("#status")).to_have_text(
        "You are no longer a member of this room.", timeout=ARRIVAL_TIMEOUT_MS
    )
    expect(bob.locator("#message-text")).to_be_disabled()
    bob.clock.fast_forward("01:00")  # longer than the longest reconnect delay, 30 s
    # His notifications stay live: by the time this one shows, a reconnect would have begun.
    assert post_through(server.url, alice_and_bob, "alice", "Still there, Bob?") == 201
    expect(bob.locator("#notification-count")).to_have_text("1", timeout=ARRIVAL_TIMEOUT_MS)
    assert new_sockets == []
    expect(bob.locator("#status")).to_have_text("You are no longer a member of this room.")


def test_logging_out_ends_that_browsers_pages_at_once_and_no_other_browsers(
    new_page, page_problems, server_url
):
    # Access tokens live 5 minutes here: what happens within seconds is the logout's doing.
    bob = open_room_as(new_page, server_url, "bob")
    bob_elsewhere = open_room_as(new_page, server_url, "bob")  # another browser, its own session
    other_tab = bob.context.new_page()  # the same browser: bob's session cookie
    page_problems.watch(other_tab)
    other_tab.goto(f"{server_url}/accounts/login/")
    # The token endpoint's 403 (no session any more) is the answer under test.
    page_problems.allow(r"\b403\b")

    other_tab.click("form.logout button")

    expect(bob.locator("#error")).to_contain_text(
        "your login has expired", timeout=ARRIVAL_TIMEOUT_MS
    )
    expect(bob_elsewhere.locator("#status")).to_have_text(
        f"{READY_STATUS} Access token renewed 1×.", timeout=ARRIVAL_TIMEOUT_MS
    )
