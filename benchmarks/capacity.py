"""`python benchmarks/capacity.py`: the idle sockets one server process holds, and their cost.

Ramps idle websockets of bob's in step05's Lobby up to N on one server process (Redis layer),
in steps, 50 handshakes at a time, and reports per step: failed handshakes, handshakes per
second, the p99 handshake time and the server's resident memory per socket (psutil's RSS,
measured against the process before the first socket); on Daphne, then on Uvicorn. Writes
benchmarks/capacity.json. `--quick` is a small run. Needs redis-server and the venv:
`.venv/bin/python benchmarks/capacity.py`. Raises its own open-file limit (one descriptor per
socket on each side); the server inherits it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import resource
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version

import aiohttp
import psutil
from harness import RESULTS, Workshop
from harness import progress as say

FULL = {"steps": [1000, 2000, 3000, 4000, 5000]}
QUICK = {"steps": [50, 100]}
AT_ONCE = 50  # handshakes in flight at a time
SERVERS = ["Daphne", "Uvicorn"]


def progress(text: str) -> None:
    say("capacity", text)


def raise_open_file_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def server_process(base: str) -> psutil.Process:
    port = base.rsplit(":", 1)[1]
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if port in command and "config.asgi:application" in command:
            return process
    raise RuntimeError(f"no server process on port {port}")


async def handshake(session, url: str, origin: str):
    started = time.perf_counter()
    try:
        socket = await asyncio.wait_for(session.ws_connect(url, headers={"Origin": origin}), 30)
    except (aiohttp.ClientError, TimeoutError):
        return None, time.perf_counter() - started
    return socket, time.perf_counter() - started


async def ramp(base: str, room: int, token: str, plan: dict) -> list[dict]:
    url = f"{base.replace('http', 'ws', 1)}/ws/conversations/{room}/?token={token}"
    server = server_process(base)
    baseline = server.memory_info().rss
    rows, sockets, failed = [], [], 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        for target in plan["steps"]:
            times, started = [], time.perf_counter()
            while len(sockets) + failed < target:
                batch = min(AT_ONCE, target - len(sockets) - failed)
                for socket, seconds in await asyncio.gather(
                    *(handshake(session, url, base) for _ in range(batch))
                ):
                    times.append(seconds)
                    if socket is None:
                        failed += 1
                    else:
                        sockets.append(socket)
            elapsed = time.perf_counter() - started
            await asyncio.sleep(1)  # let the server settle before reading its memory
            rss = server.memory_info().rss
            times.sort()
            row = {
                "sockets": len(sockets),
                "failed": failed,
                "handshakes_per_s": len(times) / elapsed,
                "p99_handshake_ms": 1000 * times[min(len(times) - 1, round(0.99 * len(times)))],
                "server_rss_mib": rss / 2**20,
                "kib_per_socket": (rss - baseline) / 1024 / max(1, len(sockets)),
            }
            rows.append(row)
            progress(
                f"{row['sockets']:5} open, {failed} failed, {row['handshakes_per_s']:4.0f}"
                f" handshakes/s, p99 {row['p99_handshake_ms']:5.0f} ms, server"
                f" {row['server_rss_mib']:5.0f} MiB, {row['kib_per_socket']:4.1f} KiB a socket"
            )
        for socket in sockets:
            await socket.close()
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (a smoke test)")
    arguments = parser.parse_args(argv)
    plan = QUICK if arguments.quick else FULL
    limit = raise_open_file_limit(4 * max(plan["steps"]) + 1024)
    progress(f"up to {max(plan['steps'])} idle sockets on one process (open files: {limit})")
    rows = []
    with Workshop() as workshop:
        for server in SERVERS:
            progress(server)
            with workshop.serve(server, redis=True) as base:
                ramped = asyncio.run(ramp(base, workshop.lobby, workshop.token("bob"), plan))
            rows += [{"server": server, **row} for row in ramped]
    if not arguments.quick:
        packages = ["django", "channels", "daphne", "uvicorn", "channels-redis", "aiohttp"]
        document = {
            "measured": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "python": platform.python_version(),
                "system": f"{platform.system()} {platform.machine()}",
                "packages": {name: version(name) for name in packages},
            },
            "plan": plan,
            "rows": rows,
        }
        (RESULTS / "capacity.json").write_text(json.dumps(document, indent=2) + "\n")
        progress("wrote benchmarks/capacity.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
