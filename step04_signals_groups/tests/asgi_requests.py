"""One HTTP request sent into an ASGI application, its body counted as it is read (step02).

Channels' HttpCommunicator hands the whole body over in one message; `call` hands it over the
way a server streams it, in chunks the application must ask for one by one, made up only
when asked for, and counts them: a test can tell what an application read, not only what it
answered.
"""

import asyncio

CHUNK = 64 * 1024
SECONDS = 30  # for the application to answer


async def call(app, method, path, *, body_size=0, headers=()):
    """(status, headers (lowercase names), body, how many chunks of the request body the
    application asked for)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:8000"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    chunks = -(-body_size // CHUNK)  # rounded up
    asked = 0
    answered = asyncio.Event()
    response = {"body": b""}

    async def receive():
        nonlocal asked
        if asked < max(chunks, 1):
            asked += 1
            size = min(CHUNK, body_size - (asked - 1) * CHUNK)
            return {"type": "http.request", "body": b"x" * size, "more_body": asked < chunks}
        await answered.wait()  # an application that listens for the client going away
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            response["status"] = message["status"]
            response["headers"] = {
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in message["headers"]
            }
        elif message["type"] == "http.response.body":
            response["body"] += message.get("body", b"")
            if not message.get("more_body", False):
                answered.set()

    await asyncio.wait_for(app(scope, receive, send), SECONDS)
    # The first message, empty, is asked for even without a body: count only body chunks.
    return response["status"], response["headers"], response["body"], min(asked, chunks)
