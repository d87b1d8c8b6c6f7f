"""Local "blogs" that answer slowly, so the collector demos and tests need no internet (step01).

`FakeNewsServer(count=5, delay=1.0)` serves, on a loopback port:
  /blog/<n>/   n = 1..count: JSON news after `delay` seconds (`?delay=S` overrides it)
  /fail/       an immediate HTTP 500, to show a broken source
  /hang/       no answer at all until the server stops, to show a timeout
  /garbled/    a body that says it is gzip and is not, to show undecodable bytes
  /redirect/   an HTTP 302 to /blog/1/, to show a redirect the collectors do not follow
It is an asyncio server: one thread answers hundreds of slow requests at once, so the server
is never the bottleneck of a measurement. It counts the requests it is answering at once
(`peak_in_flight`), so that a test can check how many a client sends at a time, and can wait
for a number of them (`wait_for_in_flight`).
"""

import asyncio
import json
import socket
import sys
import threading
from datetime import datetime
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

# A request's head (request line and headers) may not be longer than this.
MAX_HEAD = 64 * 1024


class FakeNewsServer:
    """The blogs on one listening socket, bound when the server is made (its port is known)."""

    def __init__(self, host="127.0.0.1", port=0, *, count=5, delay=1.0):
        self.count = count
        self.delay = delay
        self.verbose = False  # the management command logs every request; tests stay quiet
        self.listener = socket.create_server((host, port), backlog=1024)
        self.in_flight = 0
        self.peak_in_flight = 0
        self.in_flight_changed = threading.Condition()
        self.loop = None
        self.stopping = None  # an asyncio.Event, in the server's loop: stop() sets it
        self.started = threading.Event()
        self.thread = None

    @property
    def url(self):
        host, port = self.listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def sources(self, *extra_paths):
        """A NEWS_SOURCES mapping: every blog, then any extra paths such as "fail" or "hang"."""
        sources = {f"blog-{n}": f"{self.url}/blog/{n}/" for n in range(1, self.count + 1)}
        sources.update({path: f"{self.url}/{path}/" for path in extra_paths})
        return sources

    def serve_forever(self):
        """Serve in this thread until `stop()` (from another thread) or Ctrl-C."""
        asyncio.run(self.serve())

    async def serve(self):
        self.loop = asyncio.get_running_loop()
        self.stopping = asyncio.Event()
        server = await asyncio.start_server(self.answer, sock=self.listener, limit=MAX_HEAD)
        self.started.set()
        # Not `async with server`: from Python 3.12 it waits for every open connection (a
        # /hang/, a client that never sends its request), and Ctrl-C would not stop the server.
        try:
            await self.stopping.wait()  # until stop(), or Ctrl-C cancels the wait
        finally:
            server.close()  # asyncio.run then cancels the requests still open

    def start_in_thread(self):
        """Serve in a background thread (tests, notebooks); `stop()` ends it."""
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()
        if not self.started.wait(timeout=10):  # stop() needs the running loop
            raise RuntimeError("the fake news server did not start")
        return self

    def stop(self):
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.stopping.set)
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.listener.close()

    def wait_for_in_flight(self, count, timeout=10):
        """Wait until `count` requests are being answered at once: True, or False at `timeout`."""
        with self.in_flight_changed:
            return self.in_flight_changed.wait_for(lambda: self.in_flight >= count, timeout)

    def count_in_flight(self, change):
        with self.in_flight_changed:
            self.in_flight += change
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self.in_flight_changed.notify_all()

    def __enter__(self):
        return self.start_in_thread()

    def __exit__(self, *exc_info):
        self.stop()

    async def answer(self, reader, writer):
        """One connection: one request, one answer (HTTP/1.1 with Connection: close)."""
        head = b""
        self.count_in_flight(+1)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            status = await self.route(head.decode("latin-1").split(" ", 2), writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            status = None  # the client went away, or sent no complete request
        except asyncio.CancelledError:
            # The server stopped while this request was open. Re-raised, Python 3.11's asyncio
            # streams would print a traceback for it.
            status = None
        finally:
            self.count_in_flight(-1)
            writer.close()
        if self.verbose and status is not None:
            stamp = datetime.now().strftime("%d/%b/%Y %H:%M:%S")
            request_line = head.split(b"\r\n")[0].decode("latin-1")
            print(f"[{stamp}] {request_line} {status}", file=sys.stderr)

    async def route(self, request_line, writer):
        """/blog/<n>/, /fail/, /hang/, /garbled/, /redirect/; anything else is a 404. The status."""
        if len(request_line) != 3 or request_line[0] != "GET":
            return await self.send_json(writer, 400, {"error": "only GET /path HTTP/1.x"})
        parts = urlsplit(request_line[1])
        segments = [segment for segment in parts.path.split("/") if segment]
        if segments == ["fail"]:
            return await self.send_json(writer, 500, {"error": "this source is broken on purpose"})
        if segments == ["hang"]:
            await self.stopping.wait()
            return None
        if segments == ["garbled"]:
            not_gzip = {"Content-Encoding": "gzip"}
            return await self.send_json(writer, 200, {"articles": []}, headers=not_gzip)
        if segments == ["redirect"]:
            moved = {"Location": "/blog/1/"}
            return await self.send_json(writer, 302, {"moved to": "/blog/1/"}, headers=moved)
        if len(segments) == 2 and segments[0] == "blog" and self.is_blog(segments[1]):
            return await self.answer_blog(writer, int(segments[1]), parse_qs(parts.query))
        return await self.send_json(writer, 404, {"error": f"no such page: {parts.path}"})

    def is_blog(self, number):
        return number.isascii() and number.isdigit() and 1 <= int(number) <= self.count

    async def answer_blog(self, writer, number, query):
        """Wait like a slow site, then send three headlines."""
        try:
            delay = float(query.get("delay", [self.delay])[0])
        except ValueError:
            return await self.send_json(writer, 400, {"error": "delay must be a number of seconds"})
        await asyncio.sleep(delay)
        articles = [
            {"title": f"Blog {number}, story {story}", "url": f"/blog/{number}/{story}/"}
            for story in range(1, 4)
        ]
        return await self.send_json(writer, 200, {"blog": f"blog-{number}", "articles": articles})

    async def send_json(self, writer, status, payload, headers=None):
        body = json.dumps(payload).encode()
        head = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        head += [f"{name}: {value}" for name, value in (headers or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
        return status
