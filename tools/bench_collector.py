"""`make bench-collector`: the three news collectors of step05, measured side by side in one run.

It starts the step's fake news server and the step itself (Daphne) on loopback ports, then
  1. one caller, N sources of L ms each: the median time of each collector, and sync / async;
  2. C simultaneous callers, 10 sources: the time until the last answer and the server
     process's peak thread count (psutil's, so alike on Linux, macOS and Windows);
and writes the figures as JSON and a PNG plot. `--quick` is the small run `make test` does.
Needs the venv (aiohttp, matplotlib, psutil): tools/run.py runs it with the venv's python.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import aiohttp
import psutil

ROOT = Path(__file__).resolve().parent.parent
STEP = ROOT / "step05_async_http"
RESULTS = ROOT / "benchmarks"
COLLECTORS = {
    "sync view": "/collector/collect_news_sync/",
    "async view": "/collector/collect_news_async_view/",
    "AsyncHttpConsumer": "/collector/collect_news_async/",
}
SYNC = "sync view"
# Lines that stay apart where two collectors measure the same (the threads of both views).
STYLES = {
    "sync view": {"marker": "o", "linestyle": "-", "linewidth": 3},
    "async view": {"marker": "s", "linestyle": "--"},
    "AsyncHttpConsumer": {"marker": "^", "linestyle": ":"},
}
FULL = {"sizes": [10, 25, 50], "delay_ms": 200, "repeats": 5, "callers": [1, 10, 50]}
QUICK = {"sizes": [3, 6], "delay_ms": 50, "repeats": 1, "callers": [1, 4]}
CALLERS_SOURCES = 10  # N for the simultaneous-callers part
FAKE_NEWS = (
    "from collector.fake_news import FakeNewsServer; "
    "FakeNewsServer(port={port}, count={count}).serve_forever()"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[:4]} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {seconds} s")


@contextmanager
def serving(command: list[str], port: int, env: dict | None = None):
    """A server process of the step's, stopped when the block ends."""
    process = subprocess.Popen(
        command,
        cwd=STEP,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def settled_thread_count(pid: int, baseline: int | None, seconds: float = 3) -> int | None:
    """The thread count once the threads of the previous measurement have ended (at most
    `seconds` later): what the server holds when idle."""
    deadline = time.monotonic() + seconds
    count = thread_count(pid)
    while count is not None and baseline is not None and count > baseline:
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
        count = thread_count(pid)
    return count


def thread_count(pid: int) -> int | None:
    """The process's number of threads, or None once it has ended."""
    try:
        return psutil.Process(pid).num_threads()
    except psutil.Error:
        return None


def server_pid(process: subprocess.Popen) -> int:
    """The pid of the interpreter that serves. A venv's python.exe on Windows is a launcher
    that runs the real interpreter as its one child; elsewhere the process is the server."""
    children = psutil.Process(process.pid).children()
    return children[0].pid if os.name == "nt" and len(children) == 1 else process.pid


class PeakThreads:
    """Samples a process's thread count every 5 ms while the block runs; keeps the highest."""

    def __init__(self, pid: int, idle: int | None):
        self.pid, self.peak, self.stop = pid, idle, threading.Event()

    def __enter__(self):
        self.sampler = threading.Thread(target=self.sample, daemon=True)
        self.sampler.start()
        return self

    def sample(self):
        while not self.stop.wait(0.005):
            count = thread_count(self.pid)
            if count is not None and self.peak is not None:
                self.peak = max(self.peak, count)

    def __exit__(self, *exc_info):
        self.stop.set()
        self.sampler.join()


async def call(session: aiohttp.ClientSession, url: str) -> float:
    """One GET of a collector; its wall time in seconds (it must answer 200, every source ok)."""
    started = time.perf_counter()
    async with session.get(url) as response:
        report = await response.json()
    elapsed = time.perf_counter() - started
    if response.status != 200 or not all(s["ok"] for s in report["sources"].values()):
        raise RuntimeError(f"{url} answered {response.status}: {json.dumps(report)[:300]}")
    return elapsed


async def one_caller(base: str, repeats: int) -> dict[str, list[float]]:
    """Each collector `repeats` times, one call at a time, interleaved; seconds per call."""
    timings = {name: [] for name in COLLECTORS}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=300)) as session:
        for path in COLLECTORS.values():  # one warm-up call each, not counted
            await call(session, base + path)
        for _ in range(repeats):
            for name, path in COLLECTORS.items():
                timings[name].append(await call(session, base + path))
    return timings


async def simultaneous(base: str, path: str, callers: int) -> float:
    """`callers` calls at once; seconds until the last answer."""
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=300)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(call(session, base + path) for _ in range(callers)))
        return time.perf_counter() - started


BENCH_SECRET_KEY = secrets.token_urlsafe(50)  # for this run's servers only


def step_server_env(news_port: int, sources: int, delay_ms: int, callers: int) -> dict:
    urls = {
        f"blog-{n}": f"http://127.0.0.1:{news_port}/blog/{n}/?delay={delay_ms / 1000}"
        for n in range(1, sources + 1)
    }
    return {
        "NEWS_SOURCES": json.dumps(urls),
        "NEWS_TIMEOUT": "60",
        # The step's cap on collections at once (10 by default) would answer the callers past
        # it with a 503: the benchmark measures the collectors, so the cap is its most callers.
        "NEWS_MAX_COLLECTIONS": str(callers),
        # DEBUG off, as a deployment runs; then the settings refuse the public demo key.
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": BENCH_SECRET_KEY,
    }


def progress(text: str) -> None:
    print(f"bench: {text}", flush=True)


def measure(plan: dict) -> dict:
    python = sys.executable
    news_port = free_port()
    most = max([*plan["sizes"], CALLERS_SOURCES])
    most_callers = max(plan["callers"])
    # The step's fake news server, without the management command's log line per request.
    news_command = [python, "-c", FAKE_NEWS.format(port=news_port, count=most)]
    results = {"single_caller": [], "simultaneous_callers": []}
    with serving(news_command, news_port):
        for sources in plan["sizes"]:
            port = free_port()
            env = step_server_env(news_port, sources, plan["delay_ms"], most_callers)
            with serving(
                [python, "-m", "daphne", "-p", str(port), "config.asgi:application"], port, env
            ):
                progress(
                    f"one caller, {sources} sources of {plan['delay_ms']} ms, "
                    f"{plan['repeats']} calls per collector"
                )
                timings = asyncio.run(one_caller(f"http://127.0.0.1:{port}", plan["repeats"]))
            medians = {name: statistics.median(values) for name, values in timings.items()}
            row = {"sources": sources, "median_s": medians, "calls_s": timings}
            row["sync_over_async"] = {
                name: medians[SYNC] / medians[name] for name in COLLECTORS if name != SYNC
            }
            results["single_caller"].append(row)
            progress("  " + ", ".join(f"{n} {s:.3f} s" for n, s in medians.items()))
            progress(
                "  sync / async: "
                + ", ".join(f"{n} {r:.1f}" for n, r in row["sync_over_async"].items())
            )
        port = free_port()
        env = step_server_env(news_port, CALLERS_SOURCES, plan["delay_ms"], most_callers)
        command = [python, "-m", "daphne", "-p", str(port), "config.asgi:application"]
        with serving(command, port, env) as server:
            base = f"http://127.0.0.1:{port}"
            asyncio.run(one_caller(base, 0))  # warm-up
            pid = server_pid(server)
            baseline = settled_thread_count(pid, 1, seconds=1)  # as few as it gets
            for callers in plan["callers"]:
                for name, path in COLLECTORS.items():
                    idle = settled_thread_count(pid, baseline)
                    with PeakThreads(pid, idle) as threads:
                        seconds = asyncio.run(simultaneous(base, path, callers))
                    results["simultaneous_callers"].append(
                        {
                            "collector": name,
                            "callers": callers,
                            "sources": CALLERS_SOURCES,
                            "last_answer_s": seconds,
                            "threads_idle": idle,
                            "threads_peak": threads.peak,
                        }
                    )
                    progress(
                        f"{callers:3} callers at once, {name:18} last answer after "
                        f"{seconds:.3f} s, threads {idle} -> {threads.peak}"
                    )
    return results


def machine() -> dict:
    packages = ["Django", "channels", "daphne", "aiohttp", "requests"]
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "packages": {name: version(name) for name in packages},
    }


def plot(document: dict, path: Path) -> None:
    # A Figure of its own, not pyplot: it needs no display, and it leaves the backend of the
    # caller (a notebook that plots inline) alone.
    from matplotlib.figure import Figure

    plan = document["plan"]
    figure = Figure(figsize=(15, 4.4))
    left, middle, right = figure.subplots(1, 3)
    single = document["results"]["single_caller"]
    sizes = [row["sources"] for row in single]
    for name in COLLECTORS:
        left.plot(sizes, [row["median_s"][name] for row in single], label=name, **STYLES[name])
    last = single[-1]
    ratios = ", ".join(f"{n}: {r:.1f}x" for n, r in last["sync_over_async"].items())
    left.set_title(
        f"One caller, sources of {plan['delay_ms']} ms each\n"
        f"sync / async at {last['sources']} sources: {ratios}",
        fontsize=10,
    )
    left.set_xlabel("sources")
    left.set_ylabel("median time of a call (s)")
    left.set_xticks(sizes)
    left.legend()
    callers_rows = document["results"]["simultaneous_callers"]
    callers = sorted({row["callers"] for row in callers_rows})
    for name in COLLECTORS:
        rows = [row for row in callers_rows if row["collector"] == name]
        middle.plot(callers, [row["last_answer_s"] for row in rows], label=name, **STYLES[name])
        peaks = [row["threads_peak"] or 0 for row in rows]
        right.plot(callers, peaks, label=name, **STYLES[name])
    middle.set_title(
        f"Callers at once, {CALLERS_SOURCES} sources each:\ntime until the last answer", fontsize=10
    )
    middle.set_xlabel("simultaneous callers")
    middle.set_ylabel("seconds")
    right.set_title(
        f"Callers at once, {CALLERS_SOURCES} sources each:\npeak threads of the server process",
        fontsize=10,
    )
    right.set_xlabel("simultaneous callers")
    right.set_ylabel("threads")
    for axes in (middle, right):
        axes.set_xticks(callers)
        axes.legend()
    info = document["machine"]
    figure.text(
        0.01,
        0.01,
        f"{info['cpus']} CPUs, {info['platform']}, Python {info['python']}, "
        f"measured {info['measured_at']}",
        fontsize=7,
        color="grey",
    )
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    figure.savefig(path, dpi=120)


def replot(folder: Path = RESULTS) -> None:
    """Draw collector.png again from collector.json (after a change to the plot only)."""
    plot(json.loads((folder / "collector.json").read_text()), folder / "collector.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (make test's smoke test)")
    parser.add_argument(
        "--out",
        type=Path,
        help="folder for collector.json and collector.png "
        "(default: benchmarks/, or a temporary folder with --quick)",
    )
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    out = args.out or (Path(tempfile.mkdtemp(prefix="bench-")) if args.quick else RESULTS)
    out.mkdir(parents=True, exist_ok=True)
    progress(f"{'quick' if args.quick else 'full'} run; results go to {out}")
    started = time.perf_counter()
    document = {"plan": plan, "machine": machine(), "results": measure(plan)}
    document["duration_s"] = round(time.perf_counter() - started, 1)
    (out / "collector.json").write_text(json.dumps(document, indent=2) + "\n")
    plot(document, out / "collector.png")
    progress(
        f"done in {document['duration_s']} s: {out / 'collector.json'}, {out / 'collector.png'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
