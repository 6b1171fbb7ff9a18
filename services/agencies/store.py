"""The agencies' Redis side: each agency's backlog, and the schedule of responses not yet due."""

from dataclasses import dataclass

from redis.asyncio import Redis

from shared.clock import Clock
from shared.publishing import LUA
from shared.redis_scripts import queue_script
from shared.schemas.events import CaseAssigned
from shared.topology import Topology

# The agency's backlog as the wall time it is busy until: a new case starts when the agency is
# free and keeps it busy for its share of a day (the rule of domain.next_turn, done atomically).
# The turn a case takes is recorded by its event id: a redelivered case gets the same turn back
# and moves the backlog no further.
# KEYS: busy-until, turn record. ARGV: now, seconds per case, record ttl. Returns "start now".
_TAKE_TURN = """
local taken = redis.call('GET', KEYS[2])
if taken then return taken end
local now = tonumber(ARGV[1])
local busy = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(busy, now)
redis.call('SET', KEYS[1], start + tonumber(ARGV[2]), 'EX', 86400 * 30)
local turn = string.format('%.6f %.6f', start, now)
redis.call('SET', KEYS[2], turn, 'EX', ARGV[3])
return turn
"""

# Move due members (entries kept by shared.publishing) from the schedule to the responses stream
# in one atomic step: replicas may run this side by side and each response is still published
# once. KEYS: schedule, responses stream. ARGV: now, how many at most.
_RELEASE_DUE = LUA + """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  publish_member(KEYS[2], member)
end
return #due
"""


@dataclass(frozen=True)
class Turn:
    """When the agency takes the case up, and when the case reached it (epoch seconds)."""

    starts_at: float
    received_at: float

    @property
    def wait_s(self) -> float:
        return self.starts_at - self.received_at


class AgencyBacklogs:
    def __init__(self, redis: Redis, topology: Topology, record_ttl_s: int, clock: Clock) -> None:
        self.redis = redis
        self.clock = clock
        self.topology = topology
        self.record_ttl_s = record_ttl_s
        self._take_turn = redis.register_script(_TAKE_TURN)

    async def take_turns(self, cases: list[tuple[CaseAssigned, float]]) -> dict[str, Turn]:
        """Each (case, seconds it occupies its agency) takes its turn: one round trip for a batch."""
        now = self.clock.now()
        async with self.redis.pipeline(transaction=False) as pipe:
            for case, seconds in cases:
                queue_script(pipe, self._take_turn,
                             keys=[self.topology.agency_busy_until(case.agency_id),
                                   self.topology.agency_turn(case.event_id)],
                             args=[now, seconds, self.record_ttl_s])
            replies = await pipe.execute() if cases else []
        turns = {}
        for (case, _), reply in zip(cases, replies, strict=True):
            start, received = (float(x) for x in reply.split())
            turns[case.event_id] = Turn(start, received)
        return turns


class Schedule:
    def __init__(self, redis: Redis, topology: Topology) -> None:
        self.redis = redis
        self.topology = topology
        self._release = redis.register_script(_RELEASE_DUE)

    async def release_due(self, now: float, limit: int) -> int:
        released = await self._release(
            keys=[self.topology.agency_schedule, self.topology.agency_responses],
            args=[now, limit],
        )
        return int(released)
