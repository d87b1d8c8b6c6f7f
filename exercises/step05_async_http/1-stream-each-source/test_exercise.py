"""The check of step05's exercise 1: GET /collector/collect_news_stream/ sends each source's
line the moment that source has answered (NDJSON).

`make exercise STEP=5 EX=1` copies it into the step's tests/ and runs it there, with the
step's pytest configuration. Its news sources are its own: one answers at once, the other
only when the test lets it, so the test knows what must have arrived while it waits.
"""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from asgiref.testing import ApplicationCommunicator

from config.asgi import application

PATH = "/collector/collect_news_stream/"
# Channels closes stale database connections around each event of a consumer, in the thread
# database_sync_to_async shares: pytest-django allows that only to a test marked for the db.
pytestmark = pytest.mark.django_db


class HeldSources:
    """Two sources on loopback: /fast/ answers at once, /slow/ once `release()` is called."""

    def __init__(self):
        self.released = threading.Event()
        sources = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/slow/":
                    sources.released.wait(timeout=30)
                name = self.path.strip("/")
                body = json.dumps({"articles": [{"title": f"{name} news"}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # no access log in the test's output
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self):
        self.released.set()

    def close(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sources(settings):
    """NEWS_SOURCES: "slow" first, then "fast": the configured order is not the answer's."""
    held = HeldSources()
    settings.NEWS_SOURCES = {"slow": f"{held.url}/slow/", "fast": f"{held.url}/fast/"}
    settings.NEWS_TIMEOUT = 20
    yield held
    held.close()


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Stream:
    """The answer of GET PATH, read piece by piece as the application sends it."""

    def __init__(self):
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": PATH,
            "raw_path": PATH.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1:8000")],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        self.app = ApplicationCommunicator(application, scope)
        self.buffer = b""
        self.ended = False

    async def start(self):
        """Send the request; the response's status and headers (lowercase names)."""
        await self.app.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await self.app.receive_output(timeout=10)
        headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
        return start["status"], headers

    async def next_line(self, waiting_for):
        """The next whole line, decoded; fails in words if none comes within 5 s."""
        while b"\n" not in self.buffer:
            if self.ended:
                pytest.fail(f"the answer ended before {waiting_for}")
            try:
                piece = await self.app.receive_output(timeout=5)
            except TimeoutError:
                pytest.fail(f"no line came within 5 s while waiting for {waiting_for}")
            self.buffer += piece.get("body", b"")
            self.ended = not piece.get("more_body", False)
        line, self.buffer = self.buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            pytest.fail(f"a line of the answer is not JSON: {line[:200]!r}")

    async def rest(self):
        """Every line left, once the answer has ended."""
        lines = []
        while not (self.ended and not self.buffer.strip()):
            lines.append(await self.next_line("the rest of the answer"))
        await self.app.wait(timeout=5)
        return lines


async def started_stream():
    stream = Stream()
    status, headers = await stream.start()
    assert status == 200, f"GET {PATH} answered {status}: is it routed in config/asgi.py?"
    return stream, headers


async def test_the_answer_is_ndjson(sources):
    stream, headers = await started_stream()
    sources.release()

    assert headers.get("content-type") == "application/x-ndjson", (
        f"the Content-Type should be application/x-ndjson; it is {headers.get('content-type')}"
    )
    await stream.rest()


async def test_the_line_of_a_source_comes_as_soon_as_it_has_answered(sources):
    stream, _ = await started_stream()

    first = await stream.next_line('the line of "fast" (while "slow" is still held back)')

    assert first.get("source") == "fast", f'the first line should be "fast"\'s; it was {first}'
    assert first.get("ok") is True and first.get("headlines") == ["fast news"], (
        f"a source's line should be its report, as the other collectors give it: {first}"
    )
    sources.release()
    await stream.rest()


async def test_every_source_has_a_line_then_the_last_line_gives_the_total(sources):
    stream, _ = await started_stream()
    sources.release()

    lines = await stream.rest()

    names = sorted(line.get("source") for line in lines[:-1])
    assert names == ["fast", "slow"], f"one line per source, then the total: got {lines}"
    assert set(lines[-1]) == {"elapsed_ms"}, f'the last line is {{"elapsed_ms": ...}}: {lines}'


async def test_a_source_that_fails_has_a_line_too(sources, settings):
    settings.NEWS_SOURCES = {"down": f"http://127.0.0.1:{closed_port()}/", **settings.NEWS_SOURCES}
    stream, _ = await started_stream()
    sources.release()

    lines = await stream.rest()

    down = [line for line in lines if line.get("source") == "down"]
    assert len(down) == 1 and down[0].get("ok") is False and down[0].get("error"), (
        f'a source that refuses the connection should be a line with "ok": false and its '
        f"error, never a 500; got {lines}"
    )
