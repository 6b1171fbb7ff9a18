"""The tracker's ledger in Redis: one hash per report, counters per agency and lane, open cases."""

import json
import time

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from services.tracker.domain import LANES, Step
from shared import topology
from shared.consumer import queue_script

# Record a stage once; move the counters only the first time, so a late duplicate counts nothing.
# A case is open from routing until acknowledgement, whichever of the two is read first.
_RECORD = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
if ARGV[3] == 'add' then
  if redis.call('HEXISTS', KEYS[1], 'acknowledged') == 0 then
    redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
  end
elseif ARGV[3] == 'remove' then
  redis.call('ZREM', KEYS[2], ARGV[4])
end
local n = tonumber(ARGV[6])
for i = 3, #KEYS do
  for c = 7, 6 + n do redis.call('HINCRBY', KEYS[i], ARGV[c], 1) end
  for j = 7 + n, #ARGV, 2 do redis.call('HINCRBYFLOAT', KEYS[i], ARGV[j], ARGV[j + 1]) end
end
return 1
"""


class Ledger:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._record = redis.register_script(_RECORD)

    def record(self, pipe: Pipeline, report_id: int, step: Step, at_epoch: float) -> None:
        counters = [topology.GAP_TOTALS]
        if step.agency_id:
            counters.append(topology.gap_by_agency(step.agency_id))
        if step.lane:
            counters.append(topology.gap_by_lane(step.lane))
        sums = [x for pair in step.sums.items() for x in pair]
        queue_script(
            pipe, self._record,
            keys=[topology.timeline_key(report_id), topology.GAP_OPEN, *counters],
            args=[step.stage, json.dumps(step.detail), step.open_case, report_id, at_epoch,
                  len(step.counters), *step.counters, *sums],
        )

    @staticmethod
    def count_dead_letter(pipe: Pipeline) -> None:
        pipe.hincrby(topology.GAP_TOTALS, "dead_letters", 1)

    async def timeline_fields(self, report_id: int) -> dict[str, str]:
        raw = await self.redis.hgetall(topology.timeline_key(report_id))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def counters(self, agency_ids: list[str]) -> tuple[
        dict[str, str], dict[str, dict[str, str]], dict[str, dict[str, str]], int, float | None
    ]:
        """Totals, per agency, per lane, the open-case count and the oldest open case's epoch."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(topology.GAP_TOTALS)
            for agency_id in agency_ids:
                pipe.hgetall(topology.gap_by_agency(agency_id))
            for lane in LANES:
                pipe.hgetall(topology.gap_by_lane(lane))
            pipe.zcard(topology.GAP_OPEN)
            pipe.zrange(topology.GAP_OPEN, 0, 0, withscores=True)
            replies = await pipe.execute()

        def text(h: dict[bytes, bytes]) -> dict[str, str]:
            return {k.decode(): v.decode() for k, v in h.items()}

        totals = text(replies[0])
        n = len(agency_ids)
        agencies = {a: text(h) for a, h in zip(agency_ids, replies[1:1 + n], strict=True)}
        lanes = {lane: text(h) for lane, h in zip(LANES, replies[1 + n:1 + n + len(LANES)],
                                                  strict=True)}
        oldest = replies[-1][0][1] if replies[-1] else None
        return totals, agencies, lanes, int(replies[-2]), oldest

    async def dead_letters(self, count: int) -> list[dict[str, str]]:
        entries = await self.redis.xrevrange(topology.DEAD_LETTERS, count=count)
        return [json.loads(fields[b"data"]) for _, fields in entries if b"data" in fields]


def now() -> float:
    return time.time()
