"""Optional reading, what a deployment adds (step04): Channels' in-memory layer, with two costs
that a broadcast paid once per socket paid once per broadcast instead.

- Before each `receive` and each `group_send`, `InMemoryChannelLayer` walks every channel
  that holds messages and every member of every group for what has expired
  (`_clean_expired`). A broadcast to K sockets wakes K receives: K walks of about K entries,
  a million steps for every message at 1,000 sockets. A message expires after 60 s unread and
  a membership after a day, so walking once a second at most changes nothing a page sees.
- Its `group_send` starts a task per member, and each task copies the event (`deepcopy`).
  Here the event is copied once and that copy goes to every member, as channels-redis does
  for the consumers of one process: a consumer must not change an event it receives.

benchmarks/README.md measures each against Channels' own, in one run.
"""

import asyncio
import time
from copy import deepcopy

from channels.layers import InMemoryChannelLayer


class CheapBroadcastInMemoryChannelLayer(InMemoryChannelLayer):
    """The in-memory layer: expired messages looked for once a second, one copy a broadcast."""

    CLEANUP_EVERY_S = 1.0
    cleaned_at = float("-inf")

    def _clean_expired(self):
        # The layer's own clock is time.time(); one that went back cleans at once.
        now = time.time()
        if not 0 <= now - self.cleaned_at < self.CLEANUP_EVERY_S:
            self.cleaned_at = now
            super()._clean_expired()

    async def group_send(self, group, message):
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        copy = deepcopy(message)  # the sender may change its dict afterwards; not this copy
        for channel in self.groups.get(group, {}):
            queue = self.channels.setdefault(
                channel, asyncio.Queue(maxsize=self.get_capacity(channel))
            )
            try:
                queue.put_nowait((time.time() + self.expiry, copy))
            except asyncio.QueueFull:
                pass  # as Channels' own: a socket too far behind misses the event
