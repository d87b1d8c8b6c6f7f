"""`python benchmarks/broadcast.py`: how long a message takes from its post to every socket.

K websocket clients as bob in the Lobby of step05 (aiohttp, `?token=`), served by Daphne on
loopback; alice posts M messages through the API at a steady rate, and each client notes when
each frame comes. For each K, each channel layer the workshop offers (in-memory; Redis, with
one and with two server processes, the clients split between them) and with and without
Channels' database clean-up before every group event (what chat/group_events.py spares), it
reports the post-to-frame latency (p50, p95, p99), the frames per second and any frame lost.

Prints the figures as it goes and writes benchmarks/broadcast.json and broadcast.png.
`--quick` is a small run (a smoke test). Needs redis-server and the venv (aiohttp,
matplotlib): `.venv/bin/python benchmarks/broadcast.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from importlib.metadata import version

import aiohttp
from harness import RESULTS, Workshop
from harness import progress as say

FULL = {"sockets": [10, 100, 1000], "messages": 20, "interval_s": 0.2}
QUICK = {"sockets": [10, 50], "messages": 5, "interval_s": 0.1}
# (name, channel layer on Redis, server processes)
SERVERS = [("in-memory", False, 1), ("Redis", True, 1), ("Redis, 2 processes", True, 2)]
QUICK_SERVERS = SERVERS[:2]
CLEANUP = {True: "clean-up skipped (ours)", False: "clean-up on every event (Channels)"}
SETTLE_S = 5.0  # after the last post, how long a frame may still take to count


def progress(text: str) -> None:
    say("broadcast", text)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def open_sockets(session, bases: list[str], room: int, token: str, count: int):
    urls = [
        f"{base.replace('http', 'ws', 1)}/ws/conversations/{room}/?token={token}" for base in bases
    ]
    sockets, started = [], time.perf_counter()
    for batch in range(0, count, 50):  # 50 handshakes at a time
        opening = [
            session.ws_connect(urls[n % len(urls)], headers={"Origin": bases[n % len(bases)]})
            for n in range(batch, min(count, batch + 50))
        ]
        sockets += await asyncio.gather(*opening)
    return sockets, time.perf_counter() - started


class Arrivals:
    """When each frame of the run came, per message number; `all_in` is set once every frame
    due has come."""

    def __init__(self, due: int):
        self.times: dict[int, list[float]] = {}
        self.count, self.due = 0, due
        self.all_in = asyncio.Event()

    async def listen(self, socket, prefix: str) -> None:
        async for frame in socket:
            data = json.loads(frame.data)
            text = data.get("data", {}).get("text", "") if data.get("type") == "message" else ""
            if text.startswith(prefix):
                self.times.setdefault(int(text[len(prefix) :]), []).append(time.perf_counter())
                self.count += 1
                if self.count >= self.due:
                    self.all_in.set()


async def one_run(bases, room, bob, alice, sockets_count, plan, label) -> dict:
    prefix = f"{label} #"
    due = sockets_count * plan["messages"]
    arrivals = Arrivals(due)
    sent: dict[int, float] = {}
    headers = {"Authorization": f"Bearer {alice}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sockets, opened_s = await open_sockets(session, bases, room, bob, sockets_count)
        readers = [asyncio.ensure_future(arrivals.listen(ws, prefix)) for ws in sockets]
        url = f"{bases[0]}/api/rooms/{room}/messages/"

        async def post(n: int) -> None:
            sent[n] = time.perf_counter()
            async with session.post(url, json={"text": f"{prefix}{n}"}, headers=headers) as r:
                r.raise_for_status()

        start = time.perf_counter()
        posts = []
        for n in range(plan["messages"]):  # a steady rate, whatever each answer takes
            await asyncio.sleep(max(0.0, start + n * plan["interval_s"] - time.perf_counter()))
            posts.append(asyncio.ensure_future(post(n)))
        await asyncio.gather(*posts)
        try:
            await asyncio.wait_for(arrivals.all_in.wait(), SETTLE_S)
        except TimeoutError:
            pass  # counted as lost
        for ws in sockets:
            await ws.close()
        for reader in readers:
            reader.cancel()
    latencies = [t - sent[n] for n, times in arrivals.times.items() for t in times]
    first, last = min(sent.values()), max(t for times in arrivals.times.values() for t in times)
    return {
        "sockets": sockets_count,
        "handshakes_per_s": sockets_count / opened_s,
        "frames": len(latencies),
        "frames_lost": due - len(latencies),
        "frames_per_s": len(latencies) / (last - first),
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * percentile(latencies, 0.95),
        "p99_ms": 1000 * percentile(latencies, 0.99),
    }


def measure(plan: dict, servers: list) -> list[dict]:
    rows = []
    with Workshop(redis=any(redis for _, redis, _ in servers)) as workshop:
        bob, alice = workshop.token("bob"), workshop.token("alice")
        for name, redis, processes in servers:
            for skip in (False, True):
                with ExitStack() as stack:
                    bases = [
                        stack.enter_context(workshop.daphne(redis=redis, skip_cleanup=skip))
                        for _ in range(processes)
                    ]
                    for count in plan["sockets"]:
                        label = f"{name} {skip} {count}"
                        row = asyncio.run(
                            one_run(bases, workshop.lobby, bob, alice, count, plan, label)
                        )
                        row.update(layer=name, processes=processes, cleanup=CLEANUP[skip])
                        rows.append(row)
                        progress(
                            f"{name:18} {CLEANUP[skip]:35} K={count:5}: p50 {row['p50_ms']:6.0f}"
                            f" ms, p95 {row['p95_ms']:6.0f} ms, p99 {row['p99_ms']:6.0f} ms,"
                            f" {row['frames_per_s']:7.0f} frames/s, {row['frames_lost']} lost,"
                            f" {row['handshakes_per_s']:.0f} handshakes/s"
                        )
    return rows


def plot(document: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = document["rows"]
    figure, axes = pyplot.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for axis, key in zip(axes, ["p50_ms", "p99_ms"], strict=True):
        for name, _, _ in SERVERS:
            for skip, style in ((False, ":"), (True, "-")):
                line = [r for r in rows if r["layer"] == name and r["cleanup"] == CLEANUP[skip]]
                if line:
                    axis.plot(
                        [r["sockets"] for r in line],
                        [r[key] for r in line],
                        linestyle=style,
                        marker="o",
                        label=f"{name}, {CLEANUP[skip]}",
                    )
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("sockets in the room (K)")
        axis.set_title(f"post to frame, {key[:3]}")
        axis.grid(True, alpha=0.3)
    axes[0].set_ylabel("milliseconds (log scale)")
    axes[1].legend(fontsize=7)
    figure.suptitle(f"step05 on Daphne: {document['plan']['messages']} posts per run")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def machine() -> dict:
    packages = ["django", "channels", "daphne", "channels-redis", "redis", "aiohttp"]
    return {
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
        "packages": {name: version(name) for name in packages},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (a smoke test)")
    parser.add_argument("--replot", action="store_true", help="the PNG again from the JSON")
    arguments = parser.parse_args(argv)
    if arguments.replot:
        plot(json.loads((RESULTS / "broadcast.json").read_text()), RESULTS / "broadcast.png")
        return 0
    plan, servers = (QUICK, QUICK_SERVERS) if arguments.quick else (FULL, SERVERS)
    progress(
        f"K = {plan['sockets']}, {plan['messages']} posts {plan['interval_s']} s apart, on "
        + ", ".join(name for name, _, _ in servers)
    )
    document = {
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "plan": plan,
        "rows": measure(plan, servers),
    }
    if not arguments.quick:
        (RESULTS / "broadcast.json").write_text(json.dumps(document, indent=2) + "\n")
        plot(document, RESULTS / "broadcast.png")
        progress("wrote benchmarks/broadcast.json and broadcast.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
