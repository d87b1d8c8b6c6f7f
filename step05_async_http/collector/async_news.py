"""Every news source fetched at once with aiohttp: the core of both async collectors (step05).

`NewsCollectorAsyncConsumer` (Channels) and `news_collector_async_view` (Django) call
`collect_news_async`; the reports are shaped by `collector/news.py`, as the sync view's are.
"""

import asyncio
import time

import aiohttp

from .news import collection_report, source_report


async def collect_news_async(sources, seconds, concurrency):
    """The whole answer: every source fetched concurrently, one report each.

    One ClientSession per call. Its connector opens at most `concurrency` connections at
    once; each request's ClientTimeout(total=seconds) also counts the wait for a free
    connection, so the answer arrives within about `seconds` however many sources hang.
    """
    started = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=concurrency)
    client_timeout = aiohttp.ClientTimeout(total=seconds)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
        names = list(sources)
        reports = await asyncio.gather(
            *(fetch_source(session, sources[name], seconds, started) for name in names)
        )
    return collection_report(dict(zip(names, reports, strict=True)), started)


async def fetch_source(session, url, seconds, t0):
    """One source's report; a failure is reported in it, never raised (the answer is a 200)."""
    # After t0 (the collection's start), at once for all: gather() runs each up to its first wait.
    started = time.perf_counter()
    try:
        # A redirect is reported, not followed (aiohttp would follow 10): it could lead anywhere.
        async with session.get(url, allow_redirects=False) as response:
            body = await response.read()
    except TimeoutError:  # the ClientTimeout: connecting, waiting, or reading took too long
        return source_report(url, t0, started, error=f"timed out after {seconds:g} s")
    except aiohttp.ClientError as exc:  # refused, reset, not a URL, undecodable body, ...
        message = " ".join(str(exc).split())  # some of aiohttp's messages span lines
        return source_report(url, t0, started, error=f"{type(exc).__name__}: {message}")
    location = response.headers.get("Location")
    return source_report(url, t0, started, status=response.status, body=body, location=location)
