"""What a collector answers: one report per news source, and the whole (step01).

The fetching lives in the views; this module only shapes their findings into the JSON that
INTERFACES.md describes, so that every collector of the workshop answers the same way.
"""

import json
import time

from .source_urls import public_url, redirect_target, without_url_secrets


def source_report(url, t0, started, *, status=None, body=b"", error=None, location=None):
    """The entry of one source: ok only for a 200 that arrived in time.

    `t0` is when the collection began, `started` when this source was asked (`perf_counter()`
    readings): the entry says when the source started, after t0, and how long it took. A
    redirect (its `location`) is reported, not followed: a source could send the collector
    anywhere. The URL is shown without its user, password and query string (source_urls.py).
    """
    if error is None and status != 200:
        error = f"HTTP {status}"
        if location is not None and 300 <= status < 400:
            error = f"redirect to {redirect_target(url, location)} not followed"
    return {
        "ok": error is None,
        "status": status,
        "started_ms": elapsed_ms(t0, until=started),
        "elapsed_ms": elapsed_ms(started),
        "size": len(body),
        "error": without_url_secrets(error, url),
        "url": public_url(url),
        "headlines": headlines(body) if error is None else [],
    }


def collection_report(reports, started):
    """The whole answer: every source's entry and the time the collection took."""
    return {"sources": reports, "elapsed_ms": elapsed_ms(started)}


def headlines(body):
    """Titles from a JSON body shaped like the fake blogs' `{"articles": [{"title": ...}]}`.

    Any other body (HTML, another JSON shape) has no headlines we can read: an empty list.
    """
    try:
        articles = json.loads(body).get("articles", [])
        return [article["title"] for article in articles if isinstance(article.get("title"), str)]
    except (ValueError, AttributeError, TypeError, RecursionError):  # JSON nested too deeply
        return []


def elapsed_ms(started, until=None):
    """Milliseconds from `started` to `until`, or to now (`time.perf_counter()` readings),
    rounded for reading."""
    if until is None:
        until = time.perf_counter()
    return round((until - started) * 1000, 1)
