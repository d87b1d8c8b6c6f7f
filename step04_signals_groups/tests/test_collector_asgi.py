"""The sync collector behind Daphne: what it refuses, refused before Django reads (step02).

Django's ASGI handler reads a request's whole body before any view runs, so the view's own
guard would come too late: `CollectorRefusals` (collector/guards.py), in front of Django in
config/asgi.py, answers from the headers. The request body is counted as it is read.
"""

import json

import pytest

from config.asgi import application
from tests.asgi_requests import call

# Django's ASGI handler closes stale database connections at each request, in the thread its
# sync views share: a connection an earlier test of this worker opened there is then touched,
# which pytest-django allows only to a test marked for the database.
pytestmark = pytest.mark.django_db

SYNC = "/collector/collect_news_sync/"
EIGHT_MIB = 8 * 1024 * 1024
LENGTH = (b"content-length", b"%d" % EIGHT_MIB)
CHUNKED = (b"transfer-encoding", b"chunked")

# Requests no collector serves, each with 8 MiB of body: (method, the headers that announce
# the body, the status answered).
REFUSED = {
    "POST with a body": ("POST", [LENGTH], 405),
    "PUT with a body": ("PUT", [LENGTH], 405),
    "GET with a body": ("GET", [LENGTH], 413),
    "GET with a chunked body": ("GET", [CHUNKED], 413),
    "GET with a body no header announces": ("GET", [], 413),  # HTTP/2 allows it
}


@pytest.mark.parametrize("refused", REFUSED.values(), ids=REFUSED.keys())
async def test_refused_request_is_answered_before_django_reads_its_body(settings, refused):
    method, body_headers, expected = refused
    settings.NEWS_SOURCES = {}  # if the view ran, it would answer 200 at once

    status, headers, body, chunks_read = await call(
        application, method, SYNC, body_size=EIGHT_MIB, headers=body_headers
    )

    assert status == expected
    assert headers.get("allow") == ("GET" if expected == 405 else None)
    assert json.loads(body)["error"]  # a sentence that says what was wrong
    # At most the first chunk of 64 KiB: Django would have read all 128 before the view ran.
    assert chunks_read <= 1


async def test_a_get_without_a_body_still_reaches_the_view(settings, fake_news):
    settings.NEWS_SOURCES = fake_news.sources()

    status, _, body, _ = await call(application, "GET", SYNC)

    assert status == 200
    assert json.loads(body)["sources"]["blog-1"]["ok"] is True


async def test_a_post_elsewhere_still_reaches_django(db):
    status, _, body, _ = await call(
        application, "POST", "/api/rooms/1/messages/", headers=[(b"content-length", b"0")]
    )

    assert status == 403  # Django REST framework's answer to an anonymous caller
    assert "credentials" in json.loads(body)["detail"]
