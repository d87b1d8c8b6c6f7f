"""`python benchmarks/burst.py`: a burst of saved messages, and what the sockets of a room see.

An import job or a bot saves messages through the ORM much faster than people type: each save
broadcasts through post_save (step05, channels-redis). A socket that falls 100 frames behind
(channels-redis's `capacity`, in Redis per server process and in the process per socket)
loses frames: an INFO line for the first, nothing for the second (benchmarks/README.md). The
benchmark measures what that costs and what the page's catch-up wins back:

  1. step05 copied into a temporary folder (a database of its own), a redis-server of its own,
     Daphne on a loopback port;
  2. K websocket clients as bob in the Lobby (aiohttp, `?token=`), each doing what the page
     does: a frame whose `previousId` is newer than anything it holds makes it fetch
     `?after=` (page after page); frames that come close together make it ask once more a
     second after the last one;
  3. another process saves M messages with `Message.objects.create`, as fast as it can;
  4. once the room is quiet, per client: the frames that came live (what a page showed
     before its catch-up existed), then what it holds after its catch-ups, lost, shown twice
     and out of order.

Prints the figures and writes benchmarks/burst.json. `--quick` is a small run (a smoke test:
few sockets lag far enough to lose anything). Needs redis-server and the venv (aiohttp):
`.venv/bin/python benchmarks/burst.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version

import aiohttp
from harness import RESULTS, ROOT, Client, Workshop
from harness import progress as say

FULL = {"sockets": 300, "messages": 500}
QUICK = {"sockets": 20, "messages": 150}
SETTLE_S = 3.0  # the room counts as quiet once no client has had a frame for this long
SAVE = """
import time
from django.contrib.auth import get_user_model
from chat.models import Message, Room
room, carol = Room.objects.get(name="Lobby"), get_user_model().objects.get(username="carol")
started = time.perf_counter()
for n in range({count}):
    Message.objects.create(room=room, author=carol, text=f"burst {{n}}")
print(f"saved {count} in {{time.perf_counter() - started:.2f}} s")
"""


def progress(text: str) -> None:
    say("burst", text)


async def run_burst(base: str, room: int, token: str, plan: dict, workshop: Workshop):
    origin = {"Origin": base}
    url = f"{base.replace('http', 'ws', 1)}/ws/conversations/{room}/?token={token}"
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        clients = [Client(session, base, room, token) for _ in range(plan["sockets"])]
        started = time.perf_counter()
        sockets = []
        for batch in range(0, len(clients), 50):  # 50 handshakes at a time
            opening = [session.ws_connect(url, headers=origin) for _ in clients[batch : batch + 50]]
            sockets += await asyncio.gather(*opening)
        progress(f"{len(sockets)} sockets open in {time.perf_counter() - started:.1f} s")
        await asyncio.gather(*(client.catch_up() for client in clients))  # the history
        readers = [
            asyncio.ensure_future(client.receive(ws))
            for client, ws in zip(clients, sockets, strict=True)
        ]
        progress(f"another process saves {plan['messages']} messages through the ORM")
        saved = await asyncio.to_thread(
            workshop.manage, "shell", "-c", SAVE.format(count=plan["messages"])
        )
        progress(saved)
        while True:  # until no frame for SETTLE_S, and every catch-up done
            await asyncio.sleep(0.5)
            now = asyncio.get_running_loop().time()
            newest = max(client.last_frame_at for client in clients)
            if now - newest > SETTLE_S and all(client.settled(now) for client in clients):
                break
        for ws in sockets:
            await ws.close()
        for reader in readers:
            reader.cancel()
    return clients, saved


def figures(clients: list[Client], burst_ids: set[int]) -> dict:
    count = len(burst_ids)
    live = [len(set(client.live) & burst_ids) for client in clients]
    held = [len(set(client.held) & burst_ids) for client in clients]
    twice = [len(client.live) - len(set(client.live)) for client in clients]
    out_of_order = [
        sum(1 for a, b in zip(client.live, client.live[1:], strict=False) if b < a)
        for client in clients
    ]
    return {
        "sockets": len(clients),
        "messages": count,
        "frames_due": count * len(clients),
        "live": {
            "frames_received": sum(live),
            "frames_missed": count * len(clients) - sum(live),
            "sockets_that_missed_some": sum(1 for n in live if n < count),
            "worst_missed": count - min(live),
            "frames_twice": sum(twice),
            "frames_out_of_order": sum(out_of_order),
        },
        "after_catch_up": {
            "messages_held": sum(held),
            "messages_lost": count * len(clients) - sum(held),
            "sockets_missing_any": sum(1 for n in held if n < count),
            "fetches": sum(client.fetches for client in clients),
        },
    }


def machine() -> dict:
    packages = ["django", "channels", "daphne", "channels-redis", "redis"]
    return {
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "packages": {name: version(name) for name in packages},
    }


def measure(plan: dict) -> dict:
    with Workshop() as workshop, workshop.daphne(redis=True) as base:
        token = workshop.token("bob")
        clients, saved = asyncio.run(run_burst(base, workshop.lobby, token, plan, workshop))
        ids = workshop.manage("shell", "-c", BURST_IDS)
    return {"saved": saved, **figures(clients, set(json.loads(ids)))}


BURST_IDS = (
    "import json; from chat.models import Message; "
    'print(json.dumps(list(Message.objects.filter(text__startswith="burst ")'
    '.values_list("id", flat=True))))'
)


def report(result: dict) -> None:
    live, after = result["live"], result["after_catch_up"]
    progress(
        f"live: {live['frames_received']:,} of {result['frames_due']:,} frames came; "
        f"{live['sockets_that_missed_some']} of {result['sockets']} sockets missed some, "
        f"the worst {live['worst_missed']} of {result['messages']}; "
        f"{live['frames_twice']} twice, {live['frames_out_of_order']} out of order"
    )
    progress(
        f"after the catch-up: {after['messages_held']:,} of {result['frames_due']:,} held, "
        f"{after['messages_lost']} lost, {after['sockets_missing_any']} sockets missing any "
        f"({after['fetches']:,} fetches of ?after=)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (a smoke test)")
    parser.add_argument("--sockets", type=int, help=f"K (default {FULL['sockets']})")
    parser.add_argument("--messages", type=int, help=f"M (default {FULL['messages']})")
    arguments = parser.parse_args(argv)
    plan = dict(QUICK if arguments.quick else FULL)
    plan.update({k: v for k in plan if (v := getattr(arguments, k)) is not None})
    progress(f"{plan['sockets']} sockets of bob's in the Lobby, {plan['messages']} messages")
    result = {"plan": plan, **measure(plan)}
    report(result)
    document = {
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "result": result,
    }
    if not arguments.quick:
        path = RESULTS / "burst.json"
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        progress(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
