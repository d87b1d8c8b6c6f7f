"""The news collector's guards: GET only, no request body, a cap on collections (step01; in
front of Django's ASGI handler from step02).

Optional reading, what a deployment adds. The collector needs no login and every call asks
every source, so a caller may not send it a body, nor run it as often at once as they like.
"""

import json
import math
import threading
from functools import wraps
from typing import NamedTuple

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt


class Refusal(NamedTuple):
    """What a collector answers instead of a report: a status, its headers, an error text."""

    status: int
    headers: dict
    error: str

    def body(self):
        return json.dumps({"error": self.error}).encode()


def refuse_request(method, has_body):
    """The refusal of a request no collector serves (None for a GET without a body)."""
    if method != "GET":
        return Refusal(405, {"Allow": "GET"}, f"{method} is not allowed: a collector answers GET")
    if has_body:
        return Refusal(413, {}, "a collector takes no request body")
    return None


def announces_body(content_length, transfer_encoding):
    """Whether a request's headers say a body follows (HTTP/1.1 says it only this way)."""
    return bool(transfer_encoding) or content_length.strip() not in ("", "0")


class CollectionSlots:
    """The collections running in this process: at most NEWS_MAX_COLLECTIONS at once."""

    def __init__(self):
        # A thread's lock: the sync view runs in a thread of its own for each request (under
        # runserver, and under Daphne from step02), step05's async collectors in the event
        # loop. It is held for one addition: nobody waits on it for long.
        self.lock = threading.Lock()
        self.running = 0

    def take(self):
        """True with a slot taken (give it back when done), False when none is free."""
        with self.lock:
            if self.running >= settings.NEWS_MAX_COLLECTIONS:
                return False
            self.running += 1
            return True

    def give_back(self):
        with self.lock:
            self.running -= 1


SLOTS = CollectionSlots()


def busy():
    """The refusal of a collection past the cap: 503, and when to try again."""
    # A running collection is done after about NEWS_TIMEOUT (per source, for the sync view).
    seconds = max(1, math.ceil(settings.NEWS_TIMEOUT))
    cap = settings.NEWS_MAX_COLLECTIONS
    error = f"too many collections at once (NEWS_MAX_COLLECTIONS = {cap}); try again in {seconds} s"
    return Refusal(503, {"Retry-After": str(seconds)}, error)


def refusal_response(refusal):
    response = HttpResponse(refusal.body(), status=refusal.status, content_type="application/json")
    for name, value in refusal.headers.items():
        response[name] = value
    return response


def guarded_collector(view):
    """A collector view behind the guards: 405, then 413 (the body is never read), then 503.
    The view runs only in a free collection slot, given back when it has answered.
    """

    @wraps(view)
    def guarded(request, *args, **kwargs):
        refusal = refusal_or_slot(request)
        if refusal is not None:
            return refusal_response(refusal)
        try:
            return view(request, *args, **kwargs)
        finally:
            SLOTS.give_back()

    # No CSRF check: a collector changes nothing, and a POST must get its 405, not the 403
    # of CsrfViewMiddleware (which runs before the view, and may read a form body).
    return csrf_exempt(guarded)


def refusal_or_slot(request):
    """The refusal of a Django request, or None with a collection slot taken for it."""
    body = announces_body(
        request.META.get("CONTENT_LENGTH", ""), request.META.get("HTTP_TRANSFER_ENCODING", "")
    )
    refusal = refuse_request(request.method, body)
    if refusal is None and not SLOTS.take():
        refusal = busy()
    return refusal


class CollectorRefusals:
    """ASGI middleware in front of Django (step02): the refusals of `refuse_request`, sent
    before Django's handler runs, for every path under `prefix`.

    That handler reads a request's whole body before any view runs (`read_body` in
    django/core/handlers/asgi.py: into memory, then a temporary file past
    FILE_UPLOAD_MAX_MEMORY_SIZE), too early for the view's own guard. This one decides from
    the headers, then from the first message (a body the headers did not announce, which
    HTTP/2 allows), and reads no further; the cap stays the view's.
    """

    def __init__(self, app, prefix):
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            return await self.app(scope, receive, send)
        refusal = refuse_request(scope["method"], asgi_announces_body(scope))
        if refusal is None:
            first = await receive()
            if first.get("body") or first.get("more_body", False):
                refusal = refuse_request(scope["method"], has_body=True)
        if refusal is not None:
            return await send_refusal(send, refusal)

        async def receive_again():  # Django gets the first message too, then the rest
            nonlocal first
            if first is None:
                return await receive()
            message, first = first, None
            return message

        await self.app(scope, receive_again, send)


def asgi_announces_body(scope):
    """`announces_body` for an ASGI request (its header names are lowercase bytes)."""
    headers = {name: value.decode("latin-1") for name, value in scope["headers"]}
    return announces_body(headers.get(b"content-length", ""), headers.get(b"transfer-encoding", ""))


async def send_refusal(send, refusal):
    """A refusal as an ASGI response, through `send`."""
    body = refusal.body()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    headers += [(name.lower().encode(), value.encode()) for name, value in refusal.headers.items()]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
