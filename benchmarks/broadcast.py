"""`python benchmarks/broadcast.py`: how long a message takes from its post to every socket.

K websocket clients as bob in the Lobby of step05 (aiohttp, `?token=`), served on loopback;
alice posts M messages through the API at a steady rate, and each client notes when each
frame comes. For each K it reports the post-to-frame latency (p50, p95, p99), the frames per
second and any frame lost, for each setup:
- where the workshop stands: each channel layer it offers (in-memory; Redis, with one and with
  two server processes, the clients split between them), on Daphne and on Uvicorn;
- and before and after, in the same run, on Daphne: Channels as shipped (its database clean-up
  before every group event, the in-memory layer's walk before every receive), each of ours
  alone (chat/group_events.py, chat/in_memory_layer.py), and each frame encoded once by its
  sender rather than once per socket (measured, not made: see benchmarks/README.md).

Prints a progress bar and the figures as it goes, and writes benchmarks/broadcast.json and
broadcast.png.
`--quick` is a small run (make test's smoke test): the in-memory layer only where no
redis-server is installed. Needs the venv (aiohttp, matplotlib, uvicorn):
`.venv/bin/python benchmarks/broadcast.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shutil
import statistics
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version

import aiohttp
from harness import RESULTS, Workshop
from harness import progress as say

FULL = {"sockets": [10, 100, 1000], "messages": 20, "interval_s": 0.2}
QUICK = {"sockets": [10], "messages": 3, "interval_s": 0.1}
LAYERS = {"in-memory": (False, 1), "Redis": (True, 1), "Redis, 2 processes": (True, 2)}
CLEANUP = {True: "clean-up skipped (ours)", False: "clean-up on every event (Channels)"}


@dataclass(frozen=True)
class Setup:
    """What serves the clients: a layer of LAYERS, a server, and which of ours are on."""

    layer: str
    server: str = "Daphne"
    skip_cleanup: bool = True  # chat/group_events.py
    walk_once: bool = True  # chat/in_memory_layer.py (the in-memory layer only)
    copy_once: bool = True  # chat/in_memory_layer.py (the in-memory layer only)
    encode_once: bool = False  # not made: measured (harness.SERVER)

    @property
    def redis(self) -> bool:
        return LAYERS[self.layer][0]

    @property
    def processes(self) -> int:
        return LAYERS[self.layer][1]

    @property
    def put_back(self) -> list[str]:
        """What of Channels' own this setup runs instead of ours."""
        put_back = [] if self.skip_cleanup else ["clean-up"]
        if not self.redis:
            put_back += [] if self.walk_once else ["walk"]
            put_back += [] if self.copy_once else ["copies"]
        return put_back

    @property
    def label(self) -> str:
        parts = [self.layer, self.server]
        if len(self.put_back) == (1 if self.redis else 3):
            parts.append("Channels as shipped")
        elif self.put_back:
            parts.append("Channels' " + " and ".join(self.put_back))
        if self.encode_once:
            parts.append("frame encoded once")
        return ", ".join(parts)


AS_SHIPPED = {"skip_cleanup": False, "walk_once": False, "copy_once": False}
# For each layer on Daphne, side by side (so that a drift of the machine's speed moves them
# alike): Channels as shipped, each of ours put back alone, step05 as it is, the frame encoded
# once. Then step05 as it is on Uvicorn.
FULL_SETUPS = [
    Setup("in-memory", **AS_SHIPPED),
    Setup("in-memory", skip_cleanup=False),
    Setup("in-memory", walk_once=False),
    Setup("in-memory", copy_once=False),
    Setup("in-memory"),
    Setup("in-memory", encode_once=True),
    Setup("Redis", skip_cleanup=False),
    Setup("Redis"),
    Setup("Redis", encode_once=True),
    Setup("Redis, 2 processes", skip_cleanup=False),
    Setup("Redis, 2 processes"),
    *[Setup(layer, "Uvicorn") for layer in LAYERS],
]
QUICK_SETUPS = [
    Setup("in-memory", **AS_SHIPPED),
    Setup("in-memory", "Uvicorn"),
    Setup("Redis, 2 processes", encode_once=True),
]
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


def bar(done: int, total: int, width: int = 20) -> str:
    """A progress bar: `[#####...............]  5/20`."""
    filled = round(width * done / total)
    return f"[{'#' * filled}{'.' * (width - filled)}] {done:>2}/{total}"


def measure(plan: dict, setups: list[Setup]) -> list[dict]:
    rows, total = [], len(setups) * len(plan["sockets"])
    with Workshop(redis=any(setup.redis for setup in setups)) as workshop:
        bob, alice = workshop.token("bob"), workshop.token("alice")
        for setup in setups:
            with ExitStack() as stack:
                switches = {
                    "skip_cleanup": setup.skip_cleanup,
                    "walk_once": setup.walk_once,
                    "copy_once": setup.copy_once,
                    "encode_once": setup.encode_once,
                }
                bases = [
                    stack.enter_context(workshop.serve(setup.server, setup.redis, **switches))
                    for _ in range(setup.processes)
                ]
                for count in plan["sockets"]:
                    label = f"{setup.label} {count}"
                    row = asyncio.run(
                        one_run(bases, workshop.lobby, bob, alice, count, plan, label)
                    )
                    row.update(
                        setup=setup.label,
                        layer=setup.layer,
                        processes=setup.processes,
                        server=setup.server,
                        cleanup=CLEANUP[setup.skip_cleanup],
                        channels_own=setup.put_back,
                        encode_once=setup.encode_once,
                    )
                    rows.append(row)
                    progress(
                        f"{bar(len(rows), total)} {setup.label:47} K={count:5}:"
                        f" p50 {row['p50_ms']:6.0f} ms,"
                        f" p95 {row['p95_ms']:6.0f} ms, p99 {row['p99_ms']:6.0f} ms,"
                        f" {row['frames_per_s']:7.0f} frames/s, {row['frames_lost']} lost,"
                        f" {row['handshakes_per_s']:.0f} handshakes/s"
                    )
    return rows


def plot(document: dict, path) -> None:
    """p50 and p99 against K: above, where the workshop stands on each server; below, on
    Daphne, Channels as shipped against each of ours and the frame encoded once."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    rows = document["rows"]
    ours = [row for row in rows if Setup(row["layer"], row["server"]).label == row["setup"]]
    daphne = [row for row in rows if row["server"] == "Daphne"]
    figure, axes = pyplot.subplots(2, 2, figsize=(12, 9), sharey=True)
    for line, (picked, title) in enumerate(
        [(ours, "the workshop's step05"), (daphne, "on Daphne, before and after")]
    ):
        for axis, key in zip(axes[line], ["p50_ms", "p99_ms"], strict=True):
            axis.set_prop_cycle(color=pyplot.cm.tab20.colors[::2] + pyplot.cm.tab20.colors[1::2])
            for setup in dict.fromkeys(row["setup"] for row in picked):
                points = [row for row in picked if row["setup"] == setup]
                dotted = "Channels" in setup or "once" in setup
                axis.plot(
                    [row["sockets"] for row in points],
                    [row[key] for row in points],
                    linestyle=":" if dotted else "-",
                    marker="o",
                    label=setup,
                )
            axis.set_xscale("log")
            axis.set_yscale("log")
            axis.set_xlabel("sockets in the room (K)")
            axis.set_title(f"{title}: post to frame, {key[:3]}", fontsize=10)
            axis.grid(True, alpha=0.3)
        axes[line][0].set_ylabel("milliseconds (log scale)")
        axes[line][1].legend(fontsize=7)
    figure.suptitle(f"step05: {document['plan']['messages']} posts per run")
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def machine() -> dict:
    packages = ["django", "channels", "daphne", "uvicorn", "channels-redis", "redis", "aiohttp"]
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
    plan, setups = (QUICK, QUICK_SETUPS) if arguments.quick else (FULL, FULL_SETUPS)
    if arguments.quick and shutil.which("redis-server") is None:
        setups = [setup for setup in setups if not setup.redis]
        progress("no redis-server here: the in-memory layer only")
    progress(f"K = {plan['sockets']}, {plan['messages']} posts {plan['interval_s']} s apart")
    document = {
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "plan": plan,
        "rows": measure(plan, setups),
    }
    if not arguments.quick:
        (RESULTS / "broadcast.json").write_text(json.dumps(document, indent=2) + "\n")
        plot(document, RESULTS / "broadcast.png")
        progress("wrote benchmarks/broadcast.json and broadcast.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
