"""The tracker's ledger in Redis: one hash per report, counters per agency and lane, open cases,
and the priority-1 cases watched for the SLA."""

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_json
from redis.asyncio import Redis

from services.tracker.domain import LANES, Policy, Step, bucket_of
from shared import wire
from shared.publishing import LUA, Publisher, replay_args
from shared.redis_scripts import queue_script
from shared.schemas.events import SlaBreached
from shared.topology import Topology
from shared.tracing import current_traceparent

# Record the stages of a batch: a Collector chunk run inside the consume loop's commit script, over
# the items of the entries whose writes are applied. Each stage is recorded once (HSETNX): only the
# first time does it move anything, so a late duplicate counts nothing. What a stage moves comes as
# groups of Redis commands, each group under a condition: none, 'absent' (a field of a hash is not
# there, e.g. the case was not acknowledged yet) or 'removed' (ZREM removed the member: the case
# was dark until now). Counter increments (HINCRBY) and time-series expiries are summed over the
# batch and written once per counter at the end: no condition reads a counter, and a batch of a
# hundred reports moves the same few counters a hundred times. Set members (SADD) likewise.
# Item: [timeline key, stage, detail JSON, [[condition, command, command, ...], ...]]
_RECORD = """
local sums, order, expiries, members = {}, {}, {}, {}
local function run(c)
  if c[1] == 'HINCRBY' then
    local fields = sums[c[2]]
    if fields == nil then
      fields = {}
      sums[c[2]] = fields
    end
    local field = tostring(c[3])
    if fields[field] == nil then
      fields[field] = 0
      order[#order + 1] = {c[2], field}
    end
    fields[field] = fields[field] + c[4]
  elseif c[1] == 'EXPIRE' then
    expiries[c[2]] = c[3]
  elseif c[1] == 'SADD' then
    members[c[2] .. ' ' .. c[3]] = {c[2], c[3]}
  else
    redis.call(unpack(c))
  end
end
for _, raw in ipairs(items) do
  local it = cjson.decode(raw)
  if redis.call('HSETNX', it[1], it[2], it[3]) == 1 then
    for _, group in ipairs(it[4]) do
      local cond, ok = group[1], true
      if cond[1] == 'absent' then ok = redis.call('HEXISTS', cond[2], cond[3]) == 0
      elseif cond[1] == 'removed' then ok = redis.call('ZREM', cond[2], cond[3]) == 1 end
      if ok then
        for j = 2, #group do run(group[j]) end
      end
    end
  end
end
for _, counter in ipairs(order) do
  local amount = sums[counter[1]][counter[2]]
  if amount ~= 0 then redis.call('HINCRBY', counter[1], counter[2], amount) end
end
for key, ttl in pairs(expiries) do redis.call('EXPIRE', key, ttl) end
for _, m in pairs(members) do redis.call('SADD', m[1], m[2]) end
"""

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

def case_member(report_id: int, agency_id: str) -> str:
    return f"{report_id}:{agency_id}"


def _case(member: bytes | str) -> tuple[int, str]:
    report_id, _, agency = (member.decode() if isinstance(member, bytes) else member).partition(":")
    return int(report_id), agency


def _text(h: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in h.items()}


@dataclass(frozen=True)
class Figures:
    """The counters the gap is made of, as read."""

    totals: dict[str, str]
    agencies: dict[str, dict[str, str]]
    lanes: dict[str, dict[str, str]]
    esps: dict[str, dict[str, str]]
    reasons: dict[str, str]
    open_count: int
    oldest_open: float | None
    dark: int
    lost_sight: int


class Ledger:
    """The ledger's writes (a Collector of (report id, step, epoch) items) and reads."""

    lua = _RECORD

    def __init__(self, redis: Redis, topology: Topology, policy: Policy, publisher: Publisher,
                 series_ttl_s: int = 7 * 24 * 3600) -> None:
        self.redis = redis
        self.topology = topology
        self.publisher = publisher
        self.policy = policy
        self.series_ttl_s = series_ttl_s
        self._breach = redis.register_script(_BREACH)

    def keys(self) -> list[str]:
        return []  # every key comes with the commands of an item

    def encode(self, item: tuple[int, Step]) -> bytes:
        report_id, step = item
        # pydantic-core's JSON encoder: several times quicker than json.dumps on these lists
        return to_json([self.topology.timeline_key(report_id), step.stage,
                        to_json(step.detail).decode(), self.commands(report_id, step)])

    def commands(self, report_id: int, step: Step) -> list[list[Any]]:
        """What recording a step moves, as guarded groups of Redis commands."""
        t = self.topology
        timeline = t.timeline_key(report_id)
        dims = [t.gap_totals]
        if step.agency_id:
            dims.append(t.gap_by_agency(step.agency_id))
        if step.lane:
            dims.append(t.gap_by_lane(step.lane))
        if step.esp:
            dims.append(t.gap_by_esp(step.esp))
        case = case_member(report_id, step.agency_id or "")

        def everywhere(name: str, amount: float = 1) -> list[list[Any]]:
            return [["HINCRBY", key, name, amount] for key in dims]

        always: list[list[Any]] = [c for name in step.counts for c in everywhere(name)]
        always += [c for name, amount in step.amounts for c in everywhere(name, amount)]
        groups: list[list[Any]] = [[[], *always]] if always else []
        if step.esp and step.kind in ("submitted", "triaged"):
            groups.append([[], ["SADD", t.gap_esps, step.esp]])
        for metric in step.series:
            hour = int(step.at // self.policy.seconds_per_hour)
            key = t.gap_series(metric, hour // 24)
            groups.append([[], ["HINCRBY", key, hour, 1], ["EXPIRE", key, self.series_ttl_s]])
        agency = step.agency_id or ""
        match step.kind:
            case "triaged" if step.esp and step.quality:
                quality = [["HINCRBY", t.gap_by_esp(step.esp), f"score:{step.quality.score_bucket}",
                            1], ["HINCRBY", t.gap_by_esp(step.esp), "score_sum",
                                 step.quality.score]]
                quality += [["HINCRBY", t.gap_by_esp(step.esp), f"missing:{f}", 1]
                            for f in step.quality.missing]
                groups.append([[], *quality])
            case "unassigned":
                groups.append([[], *[["HINCRBY", t.gap_reasons, r, 1] for r in step.reasons]])
            case "handoff":
                opened = [["ZADD", t.gap_open, step.at, case],
                          ["ZADD", t.agency_open(agency), step.at, report_id]]
                if step.deadline is not None:
                    opened.append(["ZADD", t.sla_watch, step.deadline, case])
                groups.append([["absent", timeline, f"acknowledged:{agency}"], *opened])
            case "acknowledged":
                handed = step.at - (step.hours or 0) * self.policy.seconds_per_hour
                groups.append([[], *[["HINCRBY", key, f"ack:{bucket_of(step.hours or 0)}", 1]
                                     for key in dims],
                               ["ZREM", t.gap_open, case], ["ZREM", t.agency_open(agency), report_id],
                               ["ZADD", t.agency_acknowledged(agency), handed, report_id],
                               ["ZREM", t.sla_watch, case], ["HDEL", t.sla_levels, case]])
                groups.append([["removed", t.gap_dark, case], *everywhere("dark", -1)])
                groups.append([["absent", timeline, f"outcome:{agency}"],
                               ["ZADD", t.gap_awaiting_outcome, step.at, case]])
            case "outcome":
                groups.append([[], *[["HINCRBY", key, f"out:{bucket_of(step.hours or 0)}", 1]
                                     for key in dims], ["ZREM", t.gap_awaiting_outcome, case]])
            case "breach" if step.level == 1:
                open_hours = float(step.detail.get("openHours", 0))
                handed = step.at - open_hours * self.policy.seconds_per_hour
                groups.append([["absent", timeline, f"acknowledged:{agency}"],
                               ["ZADD", t.gap_dark, handed, case], *everywhere("dark")])
        return groups

    async def timeline_fields(self, report_id: int) -> dict[str, str]:
        raw = await self.redis.hgetall(self.topology.timeline_key(report_id))
        return {k.decode(): v.decode() for k, v in raw.items()}

    async def figures(self, agency_ids: list[str], now: float) -> "Figures":
        """Every counter the gap is made of, in one round trip."""
        t = self.topology
        esps = sorted(x.decode() for x in await self.redis.smembers(t.gap_esps))
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(t.gap_totals)
            for agency_id in agency_ids:
                pipe.hgetall(t.gap_by_agency(agency_id))
            for lane in LANES:
                pipe.hgetall(t.gap_by_lane(lane))
            for esp in esps:
                pipe.hgetall(t.gap_by_esp(esp))
            pipe.hgetall(t.gap_reasons)
            pipe.zcard(t.gap_open)
            pipe.zrange(t.gap_open, 0, 0, withscores=True)
            pipe.zcard(t.gap_dark)
            pipe.zcount(t.gap_awaiting_outcome, "-inf", self.policy.lost_sight_before(now))
            replies = list(await pipe.execute())
        totals = _text(replies.pop(0))
        agencies = {a: _text(replies.pop(0)) for a in agency_ids}
        lanes = {lane: _text(replies.pop(0)) for lane in LANES}
        lanes["all"] = totals
        by_esp = {e: _text(replies.pop(0)) for e in esps}
        reasons = _text(replies.pop(0))
        open_count, oldest, dark, lost = replies
        return Figures(totals, agencies, lanes, by_esp, reasons, int(open_count),
                       oldest[0][1] if oldest else None, int(dark), int(lost))

    async def series(self, metrics: Sequence[str], hours: list[int]) -> dict[str, dict[int, int]]:
        """Counts per simulated hour for these hours."""
        days = sorted({h // 24 for h in hours})
        async with self.redis.pipeline(transaction=False) as pipe:
            for metric in metrics:
                for day in days:
                    pipe.hgetall(self.topology.gap_series(metric, day))
            replies = iter(await pipe.execute())
        found: dict[str, dict[int, int]] = {}
        for metric in metrics:
            found[metric] = {}
            for _ in days:
                found[metric].update({int(k): int(v) for k, v in next(replies).items()})
        return found

    async def dark_cases(self, offset: int, limit: int) -> tuple[int, list[tuple[int, str, float]]]:
        """How many cases are dark, and a page of them, longest waiting first: (report id,
        agency, handoff time)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self.topology.gap_dark)
            pipe.zrange(self.topology.gap_dark, offset, offset + limit - 1, withscores=True)
            count, page = await pipe.execute()
        return int(count), [(*_case(m), score) for m, score in page]

    async def agency_cases(self, agency_id: str, status: str, offset: int, limit: int
                           ) -> tuple[int, list[tuple[int, float, bool]]]:
        """An agency's cases, oldest first: how many, and a page of (report id, handoff time,
        acknowledged)."""
        t = self.topology
        keys = {"open": [t.agency_open(agency_id)],
                "acknowledged": [t.agency_acknowledged(agency_id)],
                "all": [t.agency_open(agency_id), t.agency_acknowledged(agency_id)]}[status]
        async with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zcard(key)
                pipe.zrange(key, 0, offset + limit - 1, withscores=True)
            replies = await pipe.execute()
        total = sum(int(replies[i]) for i in range(0, len(replies), 2))
        merged = sorted(((int(m), score, key == t.agency_acknowledged(agency_id))
                         for key, page in zip(keys, replies[1::2], strict=True)
                         for m, score in page), key=lambda c: (c[1], c[0]))
        return total, merged[offset:offset + limit]

    async def timelines(self, report_ids: list[int]) -> list[dict[str, str]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for report_id in report_ids:
                pipe.hgetall(self.topology.timeline_key(report_id))
            return [_text(h) for h in await pipe.execute()]

    async def open_reports_handed_before(self, cutoff: float, chunk: int = 1000) -> set[int]:
        """The reports with a case handed to an agency before `cutoff` and not yet acknowledged."""
        reports: set[int] = set()
        start = 0
        while True:
            members = await self.redis.zrangebyscore(self.topology.gap_open, "-inf", cutoff,
                                                     start=start, num=chunk)
            reports.update(_case(m)[0] for m in members)
            if len(members) < chunk:
                return reports
            start += chunk

    async def overdue_cases(self, now: float, limit: int) -> list[tuple[int, str, int, dict[str, Any]]]:
        """Watched cases past their deadline: (report id, agency, breach level so far, handoff
        detail)."""
        members = await self.redis.zrangebyscore(self.topology.sla_watch, "-inf", now, start=0,
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


# Replay a dead letter once: the marker and the re-publication in one step.
# KEYS: replayed marker, source stream. ARGV: the original entry's fields as name, value pairs.
_REPLAY = LUA + """
if redis.call('SET', KEYS[1], '1', 'NX') then
  return publish(KEYS[2], ARGV, 1)
end
return false
"""


class DeadLetters:
    """The dead-letter stream, read by entry id; a dead letter replayed to its source once."""

    def __init__(self, redis: Redis, topology: Topology,
                 replayable: Callable[[str], bool]) -> None:
        self.redis = redis
        self.topology = topology
        self.replayable = replayable
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
        args = replay_args(letter["source_stream"], json.loads(letter["payload"]),
                           self.replayable)
        new_id = await self._replay(keys=[self.topology.replayed_key(entry_id),
                                          letter["source_stream"]], args=args)
        return new_id.decode() if new_id else None


class Responses:
    """Agencies' responses posted over HTTP, published on the responses stream as the simulated
    agencies' are: the ledger records both the same way."""

    def __init__(self, redis: Redis, topology: Topology, publisher: Publisher) -> None:
        self.redis = redis
        self.topology = topology
        self.publisher = publisher

    async def publish(self, events: Sequence[BaseModel]) -> None:
        traceparent = current_traceparent()
        async with self.redis.pipeline(transaction=True) as pipe:
            for event in events:
                self.publisher.queue(pipe, self.topology.agency_responses, event, traceparent)
            await pipe.execute()


def now() -> float:
    return time.time()
