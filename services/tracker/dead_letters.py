"""The dead-letter stream, read by entry id; a dead letter replayed to its source stream once."""

import json
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from shared import wire
from shared.publishing import LUA, replay_args
from shared.topology import Topology

# Replay a dead letter once: the marker and the re-publication in one step.
# KEYS: replayed marker, source stream. ARGV: the original entry's fields as name, value pairs.
_REPLAY = LUA + """
if redis.call('SET', KEYS[1], '1', 'NX') then
  return publish(KEYS[2], ARGV, 1)
end
return false
"""


MAX_ID_PART = 2**64 - 1


def older_than(before: str | None) -> str | None:
    """The end of an XREVRANGE for the entries older than `before` (an entry id, the last of the
    page before), or None when no entry can be older (0-0). An id beyond Redis's range has every
    entry older than it."""
    if before is None:
        return "+"
    ms_text, _, seq_text = before.partition("-")
    ms, seq = int(ms_text), int(seq_text or 0)
    if (ms, seq) == (0, 0):
        return None
    if ms > MAX_ID_PART:
        return "+"
    return f"({ms}-{min(seq, MAX_ID_PART)}"


class DeadLetters:
    """The dead-letter stream, read by entry id; a dead letter replayed to its source once."""

    def __init__(self, redis: Redis, topology: Topology,
                 replayable: Callable[[str], bool]) -> None:
        self.redis = redis
        self.topology = topology
        self.replayable = replayable
        self._replay = redis.register_script(_REPLAY)

    async def recent(self, count: int, before: str | None = None
                     ) -> list[tuple[str, dict[str, Any], bool]]:
        """(id, dead letter, replayed) for the newest `count` (older than `before`, an id, when
        given: the next page), newest first."""
        end = older_than(before)
        if end is None:
            return []
        entries = await self.redis.xrevrange(self.topology.dead_letters, max=end, count=count)
        letters = [(entry_id.decode(), json.loads(wire.payload(fields)))
                   for entry_id, fields in entries if wire.payload(fields)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id, _ in letters:
                pipe.exists(self.topology.replayed_key(entry_id))
            replayed = await pipe.execute() if letters else []
        return [(i, letter, bool(r)) for (i, letter), r in zip(letters, replayed, strict=True)]

    async def get(self, entry_id: str) -> tuple[dict[str, Any], bool] | None:
        entries = await self.redis.xrange(self.topology.dead_letters, min=entry_id, max=entry_id)
        if not entries or not wire.payload(entries[0][1]):
            return None
        replayed = await self.redis.exists(self.topology.replayed_key(entry_id))
        return json.loads(wire.payload(entries[0][1])), bool(replayed)

    async def replay(self, entry_id: str, letter: dict[str, Any]) -> str | None:
        """Put the original entry back on its source stream; None when it was replayed before."""
        args = replay_args(letter["source_stream"], json.loads(letter["payload"]),
                           self.replayable)
        new_id = await self._replay(keys=[self.topology.replayed_key(entry_id),
                                          letter["source_stream"]], args=args)
        return new_id.decode() if new_id else None
