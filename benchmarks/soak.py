"""`python benchmarks/soak.py`: every message to every socket, once, through a Redis restart.

Two Daphne processes of step05 share a redis-server of the script's own. N clients as bob in
the Lobby (aiohttp, `?token=`), split between them, each doing what the page does: it keeps
its socket open, reconnecting after a close (a Redis outage closes every socket with 4503)
and catching up with `?after=` when it opens; a frame whose `previousId` it has not shown
makes it fetch the gap. alice posts at a steady rate through the API for D seconds,
alternately to each server, and halfway through Redis is stopped and started again.

At the end, per client: the messages it holds of those posted (lost = missing), the messages
that came twice (a frame and a catch-up can both bring one: the page shows it once), the
frames that came out of order, and the reconnects. Prints them and writes
benchmarks/soak.json. `--quick` is a small run. Needs redis-server and the venv.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version

import aiohttp
from harness import RESULTS, Client, Workshop
from harness import progress as say

FULL = {"clients": 200, "seconds": 60, "rate_per_s": 5}
QUICK = {"clients": 20, "seconds": 8, "rate_per_s": 5}
RETRY_S = (0.5, 2.0)  # the wait before a reconnect: first, and at most
SETTLE_S = 3.0  # after the last post, how long the clients may take to settle


def progress(text: str) -> None:
    say("soak", text)


class StayingClient(Client):
    """A Client whose socket stays open, as room.js's openLive does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.twice = 0  # messages that came again, once shown
        self.reconnects = 0
        self.opened = asyncio.Event()

    def show(self, message: dict) -> None:
        if message["id"] in self.held:
            self.twice += 1
        super().show(message)

    async def stay(self, url: str, origin: str, stopping: asyncio.Event) -> None:
        wait = RETRY_S[0]
        while not stopping.is_set():
            try:
                async with self.session.ws_connect(url, headers={"Origin": origin}) as socket:
                    if self.opened.is_set():
                        self.reconnects += 1
                    self.opened.set()
                    await self.catch_up()  # what was written while it was away
                    wait = RETRY_S[0]
                    await self.receive(socket)
            except (aiohttp.ClientError, OSError):
                wait = min(RETRY_S[1], wait * 2)
            if not stopping.is_set():
                await asyncio.sleep(wait)


async def soak(workshop: Workshop, bases: list[str], plan: dict) -> tuple[list, list[int]]:
    bob, alice = workshop.token("bob"), workshop.token("alice")
    room = workshop.lobby
    stopping = asyncio.Event()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        clients, stays = [], []
        for n in range(plan["clients"]):
            base = bases[n % len(bases)]
            client = StayingClient(session, base, room, bob)
            url = f"{base.replace('http', 'ws', 1)}/ws/conversations/{room}/?token={bob}"
            clients.append(client)
            stays.append(asyncio.ensure_future(client.stay(url, base, stopping)))
        await asyncio.gather(*(client.opened.wait() for client in clients))
        progress(f"{len(clients)} sockets open on {len(bases)} servers")

        posted: list[int] = []
        headers = {"Authorization": f"Bearer {alice}"}
        count = plan["seconds"] * plan["rate_per_s"]
        restarted = None

        async def post(n: int) -> None:
            url = f"{bases[n % len(bases)]}/api/rooms/{room}/messages/"
            async with session.post(url, json={"text": f"soak {n}"}, headers=headers) as answer:
                answer.raise_for_status()
                posted.append((await answer.json())["id"])

        start, posts = time.perf_counter(), []
        for n in range(count):
            await asyncio.sleep(max(0.0, start + n / plan["rate_per_s"] - time.perf_counter()))
            if restarted is None and n >= count // 2:
                progress(f"after {n} posts: Redis stopped, and started again 1 s later")
                restarted = asyncio.ensure_future(asyncio.to_thread(workshop.restart_redis))
            posts.append(asyncio.ensure_future(post(n)))
        await asyncio.gather(*posts, restarted)
        progress(f"{len(posted)} messages posted in {time.perf_counter() - start:.0f} s")
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline:  # until every client holds all, or settles
            await asyncio.sleep(0.5)
            now = asyncio.get_running_loop().time()
            quiet = all(now - c.last_frame_at > SETTLE_S and c.settled(now) for c in clients)
            if quiet or all(set(posted) <= c.held.keys() for c in clients):
                break
        stopping.set()
        for stay in stays:
            stay.cancel()
    return clients, posted


def figures(clients: list[StayingClient], posted: list[int]) -> dict:
    due = set(posted)
    lost = [len(due - client.held.keys()) for client in clients]
    out_of_order = [
        sum(1 for a, b in zip(client.live, client.live[1:], strict=False) if b < a)
        for client in clients
    ]
    return {
        "clients": len(clients),
        "messages": len(due),
        "lost": sum(lost),
        "clients_missing_any": sum(1 for n in lost if n),
        "came_twice": sum(client.twice for client in clients),
        "frames_out_of_order": sum(out_of_order),
        "reconnects": sum(client.reconnects for client in clients),
        "fetches": sum(client.fetches for client in clients),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (a smoke test)")
    arguments = parser.parse_args(argv)
    plan = QUICK if arguments.quick else FULL
    progress(
        f"{plan['clients']} clients on 2 servers sharing Redis, {plan['rate_per_s']} posts a"
        f" second for {plan['seconds']} s, Redis restarted halfway"
    )
    with Workshop() as workshop, workshop.daphne(redis=True) as a, workshop.daphne(redis=True) as b:
        clients, posted = asyncio.run(soak(workshop, [a, b], plan))
    result = figures(clients, posted)
    progress(
        f"{result['messages']} messages to {result['clients']} clients: {result['lost']} lost"
        f" ({result['clients_missing_any']} clients missing any), {result['came_twice']} came"
        f" twice (shown once), {result['frames_out_of_order']} frames out of order;"
        f" {result['reconnects']} reconnects, {result['fetches']} fetches of ?after="
    )
    if not arguments.quick:
        packages = ["django", "channels", "daphne", "channels-redis", "redis", "aiohttp"]
        document = {
            "measured": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": {
                "python": platform.python_version(),
                "system": f"{platform.system()} {platform.machine()}",
                "packages": {name: version(name) for name in packages},
            },
            "plan": plan,
            "result": result,
        }
        (RESULTS / "soak.json").write_text(json.dumps(document, indent=2) + "\n")
        progress("wrote benchmarks/soak.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
