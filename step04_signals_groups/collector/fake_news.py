"""Local "blogs" that answer slowly, so the collector demos and tests need no internet (step01).

`FakeNewsServer(count=5, delay=1.0)` serves, on a loopback port:
  /blog/<n>/   n = 1..count: JSON news after `delay` seconds (`?delay=S` overrides it)
  /fail/       an immediate HTTP 500, to show a broken source
  /hang/       no answer at all until the server stops, to show a timeout
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class FakeNewsServer(ThreadingHTTPServer):
    """An HTTP server with one thread per request, so slow answers overlap like real sites."""

    daemon_threads = True

    def __init__(self, host="127.0.0.1", port=0, *, count=5, delay=1.0):
        super().__init__((host, port), FakeNewsHandler)
        self.count = count
        self.delay = delay
        self.verbose = False  # the management command logs every request; tests stay quiet
        # Set when the server stops: it wakes every waiting handler at once.
        self.stopping = threading.Event()

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def sources(self, *extra_paths):
        """A NEWS_SOURCES mapping: every blog, then any extra paths such as "fail" or "hang"."""
        sources = {f"blog-{n}": f"{self.url}/blog/{n}/" for n in range(1, self.count + 1)}
        sources.update({path: f"{self.url}/{path}/" for path in extra_paths})
        return sources

    def start_in_thread(self):
        """Serve in a background thread (tests, notebooks); `stop()` ends it."""
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.stopping.set()
        self.shutdown()
        self.server_close()

    def __enter__(self):
        return self.start_in_thread()

    def __exit__(self, *exc_info):
        self.stop()


class FakeNewsHandler(BaseHTTPRequestHandler):
    server: FakeNewsServer

    def do_GET(self):
        """Route /blog/<n>/, /fail/ and /hang/; anything else is a 404."""
        parts = urlsplit(self.path)
        segments = [segment for segment in parts.path.split("/") if segment]
        if segments == ["fail"]:
            self.send_json(500, {"error": "this source is broken on purpose"})
        elif segments == ["hang"]:
            self.server.stopping.wait()
        elif len(segments) == 2 and segments[0] == "blog" and self.is_blog(segments[1]):
            self.answer_blog(int(segments[1]), parse_qs(parts.query))
        else:
            self.send_json(404, {"error": f"no such page: {parts.path}"})

    def is_blog(self, number):
        return number.isdigit() and 1 <= int(number) <= self.server.count

    def answer_blog(self, number, query):
        """Wait like a slow site (or less, if the server stops), then send three headlines."""
        try:
            delay = float(query.get("delay", [self.server.delay])[0])
        except ValueError:
            return self.send_json(400, {"error": "delay must be a number of seconds"})
        self.server.stopping.wait(delay)
        articles = [
            {"title": f"Blog {number}, story {story}", "url": f"/blog/{number}/{story}/"}
            for story in range(1, 4)
        ]
        self.send_json(200, {"blog": f"blog-{number}", "articles": articles})

    def send_json(self, status, payload):
        body = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (its timeout): nothing left to tell it

    def log_message(self, format, *args):
        """Quiet by default; the management command turns the log on."""
        if self.server.verbose:
            super().log_message(format, *args)
