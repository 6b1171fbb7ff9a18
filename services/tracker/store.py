"""The tracker's ledger in Redis: one hash per report, counters per agency and lane, open cases,
and the priority-1 cases watched for the SLA."""

import json
import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from services.tracker.domain import LANES, Step
from shared import topology
from shared.consumer import encode, queue_script
from shared.schemas.events import SlaBreached

# Record a stage once; move the counters only the first time, so a late duplicate counts nothing.
# A case is open from its handoff until the agency acknowledges it, whichever is read first.
_RECORD = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
if ARGV[3] == 'add' then
  if redis.call('HEXISTS', KEYS[1], ARGV[6]) == 0 then
    redis.call('ZADD', KEYS[2], ARGV[5], ARGV[4])
    if ARGV[7] == '1' then redis.call('ZADD', KEYS[3], ARGV[5], ARGV[4]) end
  end
elseif ARGV[3] == 'remove' then
  redis.call('ZREM', KEYS[2], ARGV[4])
  redis.call('ZREM', KEYS[3], ARGV[4])
end
local n = tonumber(ARGV[8])
for i = 4, #KEYS do
  for c = 9, 8 + n do redis.call('HINCRBY', KEYS[i], ARGV[c], 1) end
  for j = 9 + n, #ARGV, 2 do redis.call('HINCRBYFLOAT', KEYS[i], ARGV[j], ARGV[j + 1]) end
end
return 1
"""

# Announce one SLA breach, if the case is still watched and still at the level we read: two
# trackers side by side announce each breach once.
_BREACH = """
local level = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if level ~= tonumber(ARGV[2]) then return 0 end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then return 0 end
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('XADD', KEYS[3], '*', 'data', ARGV[5])
return 1
"""

SLA_LEVELS = f"{topology.PREFIX}:sla:levels"


def case_member(report_id: int, agency_id: str) -> str:
    return f"{report_id}:{agency_id}"


class Ledger:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._record = redis.register_script(_RECORD)
        self._breach = redis.register_script(_BREACH)

    def record(self, pipe: Pipeline, report_id: int, step: Step, at_epoch: float) -> None:
        counters = [topology.GAP_TOTALS]
        if step.agency_id:
            counters.append(topology.gap_by_agency(step.agency_id))
        if step.lane:
            counters.append(topology.gap_by_lane(step.lane))
        member = case_member(report_id, step.agency_id or "")
        sums = [x for pair in step.sums.items() for x in pair]
        queue_script(
            pipe, self._record,
            keys=[topology.timeline_key(report_id), topology.GAP_OPEN, topology.SLA_WATCH, *counters],
            args=[step.stage, json.dumps(step.detail), step.open_case, member, at_epoch,
                  f"acknowledged:{step.agency_id}", "1" if step.watch_sla else "",
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

    async def overdue_cases(self, cutoff: float, limit: int) -> list[tuple[int, str, int, dict[str, Any]]]:
        """Watched cases handed over before `cutoff`: (report id, agency, breach level so far,
        handoff detail)."""
        members = await self.redis.zrangebyscore(topology.SLA_WATCH, "-inf", cutoff, start=0,
                                                 num=limit)
        if not members:
            return []
        cases = [(int(m.decode().split(":", 1)[0]), m.decode().split(":", 1)[1]) for m in members]
        async with self.redis.pipeline(transaction=False) as pipe:
            for report_id, agency in cases:
                pipe.hget(SLA_LEVELS, case_member(report_id, agency))
                pipe.hget(topology.timeline_key(report_id), f"handoff:{agency}")
            replies = await pipe.execute()
        found = []
        for i, (report_id, agency) in enumerate(cases):
            level, detail = replies[2 * i], replies[2 * i + 1]
            found.append((report_id, agency, int(level or 0), json.loads(detail) if detail else {}))
        return found

    async def announce(self, report_id: int, agency: str, level_before: int,
                       breach: SlaBreached | None, now: float) -> bool:
        """Publish the breach (or stop watching the case when there is none to announce)."""
        member = case_member(report_id, agency)
        done = await self._breach(
            keys=[SLA_LEVELS, topology.SLA_WATCH, topology.SLA_BREACHES],
            args=[member, level_before, level_before + 1, now,
                  encode(breach)[b"data"] if breach else ""],
        )
        return bool(done)


def now() -> float:
    return time.time()
