"""The tracker's ledger in Redis: one hash per report, counters per agency and lane, open cases,
and the priority-1 cases watched for the SLA."""

import json
import time
from typing import Any

from redis.asyncio import Redis

from services.tracker.domain import LANES, Step
from shared import wire
from shared.redis_scripts import queue_script
from shared.schemas.events import SlaBreached
from shared.topology import Topology

# Record the stages of a batch: a Collector chunk run inside the consume loop's commit script, over
# the items of the entries whose writes are applied. Each stage is recorded once: the counters
# move only the first time, so a late duplicate counts nothing. A case is open from its handoff
# until the agency acknowledges it, whichever of the two is read first.
# Item: [timeline key, stage, detail JSON, open action, case, epoch, ack stage, watch SLA (0/1),
#        counter hash keys, counter fields, sums as [field, value, ...]]
_RECORD = """
local open_cases, sla, levels = KEYS[1], KEYS[2], KEYS[3]
for _, raw in ipairs(items) do
  local it = cjson.decode(raw)
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
redis.call('XADD', KEYS[3], '*', ARGV[6], ARGV[5])
return 1
"""

def case_member(report_id: int, agency_id: str) -> str:
    return f"{report_id}:{agency_id}"


class Ledger:
    """The ledger's writes (a Collector of (report id, step, epoch) items) and reads."""

    lua = _RECORD

    def __init__(self, redis: Redis, topology: Topology) -> None:
        self.redis = redis
        self.topology = topology
        self._breach = redis.register_script(_BREACH)

    def keys(self) -> list[str]:
        t = self.topology
        return [t.gap_open, t.sla_watch, t.sla_levels]

    def encode(self, item: tuple[int, Step, float]) -> str:
        report_id, step, at_epoch = item
        t = self.topology
        counters = [t.gap_totals]
        if step.agency_id:
            counters.append(t.gap_by_agency(step.agency_id))
        if step.lane:
            counters.append(t.gap_by_lane(step.lane))
        return json.dumps([
            t.timeline_key(report_id), step.stage, json.dumps(step.detail),
            step.open_case, case_member(report_id, step.agency_id or ""), at_epoch,
            f"acknowledged:{step.agency_id}", 1 if step.watch_sla else 0, counters,
            list(step.counters), [x for pair in step.sums.items() for x in pair],
        ])

    async def timeline_fields(self, report_id: int) -> dict[str, str]:
        raw = await self.redis.hgetall(self.topology.timeline_key(report_id))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def counters(self, agency_ids: list[str]) -> tuple[
        dict[str, str], dict[str, dict[str, str]], dict[str, dict[str, str]], int, float | None
    ]:
        """Totals, per agency, per lane, the open-case count and the oldest open case's epoch."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.topology.gap_totals)
            for agency_id in agency_ids:
                pipe.hgetall(self.topology.gap_by_agency(agency_id))
            for lane in LANES:
                pipe.hgetall(self.topology.gap_by_lane(lane))
            pipe.zcard(self.topology.gap_open)
            pipe.zrange(self.topology.gap_open, 0, 0, withscores=True)
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

    async def overdue_cases(self, cutoff: float, limit: int) -> list[tuple[int, str, int, dict[str, Any]]]:
        """Watched cases handed over before `cutoff`: (report id, agency, breach level so far,
        handoff detail)."""
        members = await self.redis.zrangebyscore(self.topology.sla_watch, "-inf", cutoff, start=0,
                                                 num=limit)
        if not members:
            return []
        cases = [(int(m.decode().split(":", 1)[0]), m.decode().split(":", 1)[1]) for m in members]
        async with self.redis.pipeline(transaction=False) as pipe:
            for report_id, agency in cases:
                pipe.hget(self.topology.sla_levels, case_member(report_id, agency))
                pipe.hget(self.topology.timeline_key(report_id), f"handoff:{agency}")
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
                    keys=[self.topology.sla_levels, self.topology.sla_watch, self.topology.sla_breaches],
                    args=[case_member(report_id, agency), level_before, level_before + 1, now,
                          breach.model_dump_json() if breach else "", wire.DATA_FIELD],
                )
            return [bool(done) for done in await pipe.execute()]


# Replay a dead letter once: the marker and the re-publication in one step.
# KEYS: replayed marker, source stream. ARGV: the original entry's fields as name, value pairs.
_REPLAY = """
if redis.call('SET', KEYS[1], '1', 'NX') then
  return redis.call('XADD', KEYS[2], '*', unpack(ARGV))
end
return false
"""


class DeadLetters:
    """The dead-letter stream, read by entry id; a dead letter replayed to its source once."""

    def __init__(self, redis: Redis, topology: Topology) -> None:
        self.redis = redis
        self.topology = topology
        self._replay = redis.register_script(_REPLAY)

    async def recent(self, count: int) -> list[tuple[str, dict[str, Any], bool]]:
        """(id, dead letter, replayed) for the newest `count`, newest first."""
        entries = await self.redis.xrevrange(self.topology.dead_letters, count=count)
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
        fields = json.loads(letter["payload"])
        args = [x for pair in fields.items() for x in pair]
        new_id = await self._replay(keys=[self.topology.replayed_key(entry_id),
                                          letter["source_stream"]], args=args)
        return new_id.decode() if new_id else None


def now() -> float:
    return time.time()
