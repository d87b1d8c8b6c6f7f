"""The synchronous news collector (step01): every source fetched one after the other.

While one source is slow, the worker that runs this view waits and serves nobody else:
the time of a call is the sum of the sources' times.
"""

import time

import requests
from django.conf import settings
from django.http import JsonResponse

from .guards import guarded_collector
from .news import collection_report, source_report


@guarded_collector  # GET only, no body, a few at once: collector/guards.py (optional reading)
def news_collector_sync_view(request):
    """GET /collector/collect_news_sync/: fetch every NEWS_SOURCES entry in turn with requests."""
    started = time.perf_counter()
    with requests.Session() as session:
        reports = {
            name: fetch_source(session, url, settings.NEWS_TIMEOUT, started)
            for name, url in settings.NEWS_SOURCES.items()
        }
    return JsonResponse(collection_report(reports, started))


def fetch_source(session, url, timeout, t0):
    """One source's report; a failure is reported in it, never raised (the view answers 200)."""
    # After t0 (the collection's start), once the previous source has answered.
    started = time.perf_counter()
    try:
        # requests' timeout bounds the connection and each wait for data, not the whole body:
        # enough for a source that answers late. A redirect is reported, not followed.
        response = session.get(url, timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        return source_report(url, t0, started, error=f"timed out after {timeout:g} s")
    except requests.RequestException as exc:
        return source_report(url, t0, started, error=f"{type(exc).__name__}: {exc}")
    location = response.headers.get("Location")  # where a redirect points
    return source_report(
        url, t0, started, status=response.status_code, body=response.content, location=location
    )
