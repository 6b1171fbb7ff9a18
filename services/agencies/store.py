"""The agencies' Redis side: each agency's backlog, and the schedule of responses not yet due."""

from dataclasses import dataclass

from redis.asyncio import Redis

from shared.clock import Clock
from shared.publishing import LUA
from shared.schemas.events import CaseAssigned
from shared.topology import Topology

# The agencies' backlogs as the wall time each is busy until: a new case starts when its agency is
# free and keeps it busy for its share of a day (the rule of domain.next_turn, done atomically),
# for a whole batch of cases in one call, in their order. The turn a case takes is recorded by its
# event id in a hash per `ttl` of time (a case is remembered between one and two ttl, as the
# consume loop's seen-records are): a redelivered case, or the same case twice in a batch, gets
# the same turn back and moves its backlog no further. A case reached its agency when it was handed
# over (its event's time, never later than now): how long it sat unread in the inbox (a batch
# gathering, a backlog of the service) is time at the agency, as the simulator counts it.
# KEYS: this bucket's turns, the bucket before's, the agencies' busy-until (a hash by agency).
# ARGV: now, record ttl, case count, then per case: event id, its agency, seconds, handed at.
# The busy-until of the batch's agencies is read by one HMGET and written by one HSET.
# Returns each case's turn, "start received".
_TAKE_TURNS = """
local now, ttl, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ids = {}
for c = 1, n do ids[c] = ARGV[4 * c] end
local known = {}
for _, key in ipairs({KEYS[2], KEYS[1]}) do
  local found = redis.call('HMGET', key, unpack(ids))
  for c = 1, n do
    if found[c] then known[ids[c]] = found[c] end
  end
end
local busy, touched, fresh, turns = {}, {}, {}, {}
for c = 1, n do
  local id, agency = ids[c], ARGV[4 * c + 1]
  if not known[id] and busy[agency] == nil then
    busy[agency] = 0
    touched[#touched + 1] = agency
  end
end
if #touched > 0 then
  local found = redis.call('HMGET', KEYS[3], unpack(touched))
  for a, agency in ipairs(touched) do busy[agency] = tonumber(found[a] or '0') end
end
for c = 1, n do
  local id, agency, seconds = ids[c], ARGV[4 * c + 1], tonumber(ARGV[4 * c + 2])
  local turn = known[id]
  if not turn then
    local received = math.min(tonumber(ARGV[4 * c + 3]), now)
    local start = math.max(busy[agency], received)
    busy[agency] = start + seconds
    turn = string.format('%.6f %.6f', start, received)
    known[id] = turn
    fresh[#fresh + 1] = id
    fresh[#fresh + 1] = turn
  end
  turns[c] = turn
end
if #touched > 0 then
  local values = {}
  for _, agency in ipairs(touched) do
    values[#values + 1] = agency
    values[#values + 1] = string.format('%.6f', busy[agency])
  end
  redis.call('HSET', KEYS[3], unpack(values))
end
if #fresh > 0 then
  redis.call('HSET', KEYS[1], unpack(fresh))
  redis.call('EXPIRE', KEYS[1], 2 * ttl)
end
return turns
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
        self._take_turns = redis.register_script(_TAKE_TURNS)

    async def take_turns(self, cases: list[tuple[CaseAssigned, float]]) -> dict[str, Turn]:
        """Each (case, seconds it occupies its agency) takes its turn: one call for a batch."""
        if not cases:
            return {}
        now = self.clock.now()
        bucket = int(now // self.record_ttl_s)
        keys = [self.topology.agency_turns(bucket), self.topology.agency_turns(bucket - 1),
                self.topology.agency_busy_until]
        args: list[str | float | int] = [now, self.record_ttl_s, len(cases)]
        for case, seconds in cases:
            args += [case.event_id, case.agency_id, seconds, case.occurred_at.timestamp()]
        replies = await self._take_turns(keys=keys, args=args)
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
