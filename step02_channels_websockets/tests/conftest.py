"""Fixtures shared by the tests: the demo people and rooms, API clients, fake news (step01)."""

import multiprocessing
import os
import platform
import re
import shutil
import sys
import uuid

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from chat.models import Room
from collector.fake_news import FakeNewsServer
from config.settings import channel_layers_from_env
from tests.live_server import LiveDaphne, use_start_method_from_environment


def pytest_configure(config):
    use_start_method_from_environment()


def pytest_report_header(config):
    return f"child processes start with: {multiprocessing.get_start_method()}"


# A test that asks for one of these starts a server process or a browser: marked `servers`,
# it runs again under spawn and forkserver with `python tools/run.py test-start-methods`
# (in CI: step02 under forkserver, after make test under spawn).
SERVER_FIXTURES = {"daphne", "start_daphne", "redis_server", "browser"}


def pytest_collection_modifyitems(items):
    for item in items:
        if SERVER_FIXTURES.intersection(item.fixturenames):
            item.add_marker(pytest.mark.servers)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher is slow on purpose; tests create many users and need no security.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def users(db):
    """alice, bob and carol, password "workshop"."""
    make = get_user_model().objects.create_user
    return {name: make(name, password="workshop") for name in ["alice", "bob", "carol"]}


@pytest.fixture
def lobby(users):
    room = Room.objects.create(name="Lobby")
    room.members.set(users.values())
    return room


@pytest.fixture
def alice_and_bob(users):
    room = Room.objects.create(name="Alice & Bob")
    room.members.set([users["alice"], users["bob"]])
    return room


@pytest.fixture
def api_as(users):
    """`api_as("alice")`: an API client logged in as that user."""

    def client_for(username):
        client = APIClient()
        client.force_authenticate(users[username])
        return client

    return client_for


@pytest.fixture
def fake_news():
    """Three fake blogs on an ephemeral loopback port, answering after 0.1 s."""
    with FakeNewsServer(count=3, delay=0.1) as server:
        yield server


def require(available, reason):
    """Skip a test whose service is missing, except under CI=true, where it must run."""
    if available:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; under CI=true this test may not skip")
    pytest.skip(reason)


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def system_chromium():
    """Debian's Chromium when it is installed, else None. (Ubuntu's `chromium` is a snap,
    which Playwright cannot drive.)"""
    found = shutil.which("chromium") or shutil.which("chromium", path="/usr/bin")
    return None if found is None or found.startswith("/snap/") else found


def chromium_install_hint():
    """The command that gives this system a Chromium for the browser tests."""
    try:
        release = platform.freedesktop_os_release()
    except OSError:  # macOS, Windows
        release = {}
    if release.get("ID") == "debian":
        return "sudo apt-get install chromium"
    python = f'"{sys.executable}"' if " " in sys.executable else sys.executable
    with_deps = " --with-deps" if release.get("ID") == "ubuntu" else ""  # its libraries, by apt
    return f"{python} -m playwright install{with_deps} chromium"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(tmp_path_factory):
    """Put the test database in a file, so that the browser tests' live server can share it.

    An in-memory SQLite database is one connection: unsafe across a server's threads (step01)
    and out of reach of another process (the Daphne of step02).
    """
    settings.DATABASES["default"]["TEST"]["NAME"] = tmp_path_factory.mktemp("db") / "test.sqlite3"


@pytest.fixture
def start_daphne(transactional_db):
    """`start_daphne()`: one more Daphne process (step04 runs two, sharing Redis).

    `start_daphne(setup="tests.module.function")`: that function runs in the server's process
    once Django is set up there.
    """
    servers = []

    def start(setup=None):
        server = LiveDaphne(setup)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def daphne(start_daphne):
    return start_daphne()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium driven by Playwright: Debian's where it is installed, else
    Playwright's own (`python -m playwright install chromium`, on macOS and Windows).

    Playwright's sync API keeps an asyncio loop in the test's thread, and Django refuses ORM
    calls where a loop runs. The browser tests' ORM calls (fixtures, the test database) are
    plain sync code that shares nothing with that loop, so they lift the guard for this
    module only, and the browser closes with the module.
    """
    from playwright.sync_api import sync_playwright

    executable = system_chromium()
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        own = os.path.exists(playwright.chromium.executable_path)
        require(executable or own, f"no Chromium for browser tests: {chromium_install_hint()}")
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        # No sandbox as root; no background calls home on a machine with no internet.
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageProblems:
    """What a learner would see in red in the developer tools: console errors, uncaught
    exceptions, failed requests and HTTP errors of every page a test opened.

    A test that provokes one on purpose (a refused message, a stopped server) says so with
    `allow(pattern)`; anything else fails the test.
    """

    def __init__(self):
        self.seen = []
        self.allowed = []

    def watch(self, page):
        def on_console(message):
            if message.type == "error":
                self.seen.append(f"console error: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.seen.append(f"uncaught exception: {error}"))
        page.on(
            "requestfailed",
            lambda request: self.seen.append(f"request failed: {request.url} {request.failure}"),
        )
        page.on(
            "response",
            lambda response: (
                response.status >= 400
                and self.seen.append(f"HTTP {response.status}: {response.url}")
            ),
        )

    def allow(self, pattern):
        self.allowed.append(pattern)

    def allow_server_outage(self):
        """While a test has stopped the server, the page's attempts to reach it fail."""
        self.allow(
            r"ERR_CONNECTION_(REFUSED|RESET)|ERR_EMPTY_RESPONSE"
            r"|Connection closed before receiving a handshake response"
        )

    def unexpected(self):
        return [seen for seen in self.seen if not any(re.search(a, seen) for a in self.allowed)]


@pytest.fixture
def page_problems():
    return PageProblems()


@pytest.fixture
def new_page(browser, page_problems):
    """`new_page()`: a page in a fresh browser context (its own cookies), watched for problems.

    After the test, any console error or failed request that the test did not allow fails it.
    """
    contexts = []

    def open_page():
        context = browser.new_context()
        contexts.append(context)
        page = context.new_page()
        page_problems.watch(page)
        return page

    yield open_page
    problems = page_problems.unexpected()  # read before closing: closing aborts requests
    for context in contexts:
        context.close()
    assert not problems, "the pages showed errors in the developer tools:\n" + "\n".join(problems)


def redis_answers(url):
    """Whether a Redis answers PING at `url` within a second (a hung one does not)."""
    try:
        return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping()
    except redis.RedisError:
        return False


def redis_layers(url=None):
    """CHANNEL_LAYERS for channels-redis at `url`, by default REDIS_URL or the local Redis
    (skipped when none answers, except under CI=true). A fresh key prefix keeps each test
    apart from the others and from a demo using the same Redis.
    """
    url = url or os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    require(redis_answers(url), f"no Redis answers at {url}: start redis-server")
    layers = channel_layers_from_env({"REDIS_URL": url})
    layers["default"]["CONFIG"]["prefix"] = f"test-{uuid.uuid4().hex}"
    return layers


@pytest.fixture(params=["memory", "redis"])
def channel_layer(request, settings):
    """Each consumer test runs on the in-memory layer and on channels-redis' layer."""
    layers = redis_layers() if request.param == "redis" else channel_layers_from_env({})
    settings.CHANNEL_LAYERS = layers  # Channels drops its cached layer when this changes
    return request.param
