"""The SLA watch in Redis: which watched cases are past their deadline, and announcing a breach
with a compare-and-set on the case's breach level, so that each is announced once."""

from typing import Any

from redis.asyncio import Redis

from services.tracker.reads import due_cases
from services.tracker.recording import case_member
from shared.publishing import LUA, Publisher
from shared.redis_scripts import queue_script
from shared.schemas.events import SlaBreached
from shared.topology import Topology

# Announce one SLA breach, if the case is still watched and still at the level we read: two
# trackers side by side (or one restarted) announce each breach once. The case is watched again
# until its next deadline, or no longer.
# KEYS: levels, watch, breaches stream. ARGV: case, level read, new level, next deadline ('' when
# none), then the breach's entry fields (none when there is no breach to announce).
_BREACH = LUA + """
local level = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if level ~= tonumber(ARGV[2]) then return 0 end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
if #ARGV == 4 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
if ARGV[4] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
end
publish(KEYS[3], ARGV, 5)
return 1
"""


class BreachStore:
    def __init__(self, redis: Redis, topology: Topology, publisher: Publisher) -> None:
        self.redis = redis
        self.topology = topology
        self.publisher = publisher
        self._breach = redis.register_script(_BREACH)

    async def overdue_cases(self, now: float, limit: int) -> list[tuple[int, str, int, dict[str, Any]]]:
        """Watched cases past their deadline: (report id, agency, breach level so far, handoff
        detail)."""
        due = await due_cases(self.redis, self.topology, self.topology.sla_watch, now, limit)
        if not due:
            return []
        levels = await self.redis.hmget(self.topology.sla_levels,
                                        [case_member(r, a) for r, a, _ in due])
        return [(r, a, int(level or 0), detail)
                for (r, a, detail), level in zip(due, levels, strict=True)]

    async def announce(self, breaches: list[tuple[int, str, int, SlaBreached | None,
                                                  float | None]]) -> list[bool]:
        """For each (report id, agency, level read, breach, next deadline): publish the breach and
        watch the case until its next deadline (or no longer), or stop watching it when there is
        no breach to announce. One round trip for all; each is announced only if its level is
        still the one read."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for report_id, agency, level_before, breach, next_deadline in breaches:
                queue_script(
                    pipe, self._breach,
                    keys=[self.topology.sla_levels, self.topology.sla_watch, self.topology.sla_breaches],
                    args=[case_member(report_id, agency), level_before, level_before + 1,
                          "" if next_deadline is None else next_deadline,
                          *(self.publisher.args(self.topology.sla_breaches, breach)
                            if breach else [])],
                )
            return [bool(done) for done in await pipe.execute()]
