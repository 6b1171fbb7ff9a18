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

# Record the stages of a whole batch in one call. Each stage is recorded once: the counters move
# only the first time, so a late duplicate counts nothing. A case is open from its handoff until
# the agency acknowledges it, whichever of the two is read first.
# Item: [timeline key, stage, detail JSON, open action, case, epoch, ack stage, watch SLA (0/1),
#        counter hash keys, counter fields, sums as [field, value, ...]]
_RECORD_MANY = """
local open_cases, sla, levels = KEYS[1], KEYS[2], KEYS[3]
for _, it in ipairs(cjson.decode(ARGV[1])) do
  local timeline = it[1]
  if redis.call('HSETNX', timeline, it[2], it[3]) == 1 then
    if it[4] == 'add' then
      if redis.call('HEXISTS', timeline, it[7]) == 0 then
        redis.call('ZADD', open_cases, it[6], it[5])
        if it[8] == 1 then redis.call('ZADD', sla, it[6], it[5]) end
      end
    elseif it[4] == 'remove' then
      redis.call('ZREM', open_cases, it[5])
      redis.call('ZREM', sla, it[5])
      redis.call('HDEL', levels, it[5])
    end
    for _, hash in ipairs(it[9]) do
      for _, name in ipairs(it[10]) do redis.call('HINCRBY', hash, name, 1) end
      for j = 1, #it[11], 2 do redis.call('HINCRBYFLOAT', hash, it[11][j], it[11][j + 1]) end
    end
  end
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
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('XADD', KEYS[3], '*', 'data', ARGV[5])
return 1
"""

def case_member(report_id: int, agency_id: str) -> str:
    return f"{report_id}:{agency_id}"


class Ledger:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._record_many = redis.register_script(_RECORD_MANY)
        self._breach = redis.register_script(_BREACH)

    def flush(self, pipe: Pipeline, items: list[tuple[int, Step, float]]) -> None:
        """Queue every step of a batch as one script call (a Collector for the consume loop)."""
        rows = []
        for report_id, step, at_epoch in items:
            counters = [topology.GAP_TOTALS]
            if step.agency_id:
                counters.append(topology.gap_by_agency(step.agency_id))
            if step.lane:
                counters.append(topology.gap_by_lane(step.lane))
            rows.append([
                topology.timeline_key(report_id), step.stage, json.dumps(step.detail),
                step.open_case, case_member(report_id, step.agency_id or ""), at_epoch,
                f"acknowledged:{step.agency_id}", 1 if step.watch_sla else 0, counters,
                list(step.counters), [x for pair in step.sums.items() for x in pair],
            ])
        queue_script(pipe, self._record_many,
                     keys=[topology.GAP_OPEN, topology.SLA_WATCH, topology.SLA_LEVELS],
                     args=[json.dumps(rows)])

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
                pipe.hget(topology.SLA_LEVELS, case_member(report_id, agency))
                pipe.hget(topology.timeline_key(report_id), f"handoff:{agency}")
            replies = await pipe.execute()
        found = []
        for i, (report_id, agency) in enumerate(cases):
            level, detail = replies[2 * i], replies[2 * i + 1]
            found.append((report_id, agency, int(level or 0), json.loads(detail) if detail else {}))
        return found

    async def announce(self, breaches: list[tuple[int, str, int, SlaBreached | None]],
                       now: float) -> list[bool]:
        """For each (report id, agency, level read, breach): publish the breach, or stop watching
        the case when there is none to announce. One round trip for all; each is announced only
        if its level is still the one read."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for report_id, agency, level_before, breach in breaches:
                queue_script(
                    pipe, self._breach,
                    keys=[topology.SLA_LEVELS, topology.SLA_WATCH, topology.SLA_BREACHES],
                    args=[case_member(report_id, agency), level_before, level_before + 1, now,
                          encode(breach)[b"data"] if breach else ""],
                )
            return [bool(done) for done in await pipe.execute()]


def now() -> float:
    return time.time()
