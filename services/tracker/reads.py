"""The ledger's reads: timelines, the gap's counters, series, dark cases, an agency's queue."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from services.tracker.domain import LANES, Policy
from services.tracker.ledger import STAGES
from services.tracker.recording import parse_case
from shared.topology import Topology


async def due_cases(redis: Redis, topology: Topology, watch: str, now: float, limit: int
                    ) -> list[tuple[int, str, dict[str, Any]]]:
    """The cases of a watch (a sorted set of `report:agency` by deadline) due by `now`, at most
    `limit`, each with its handoff's detail ({} when it has none): two round trips."""
    members = await redis.zrangebyscore(watch, "-inf", now, start=0, num=limit)
    cases = [parse_case(m) for m in members]
    if not cases:
        return []
    async with redis.pipeline(transaction=False) as pipe:
        for report_id, agency in cases:
            pipe.hget(topology.timeline_key(report_id), f"handoff:{agency}")
        details = await pipe.execute()
    return [(r, a, json.loads(STAGES.unpack(d)) if d else {})
            for (r, a), d in zip(cases, details, strict=True)]


def _text(h: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in h.items()}


def stages(h: dict[bytes, bytes]) -> dict[str, str]:
    """A timeline as read: each stage's detail as JSON text (stored deflated, `STAGES`)."""
    return {k.decode(): STAGES.unpack(v).decode() for k, v in h.items()}


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
    link_stats: dict[str, str]
    at_risk: int


# A report's link group as it is now, in one read (a union between two reads could leave the
# group's old root empty): the root, walked up (the store compresses only the paths it walks:
# another report's may be long), its reports and the agency holding each. Read only.
# KEYS: parents, held. ARGV: report id, the members-set prefix, the most reports returned.
_GROUP = """
local id = ARGV[1]
while true do
  local up = redis.call('HGET', KEYS[1], id)
  if not up or up == id then break end
  id = up
end
local members = redis.call('SMEMBERS', ARGV[2] .. id)
table.sort(members, function(a, b) return tonumber(a) < tonumber(b) end)
local found = {id}
for k = 1, math.min(#members, tonumber(ARGV[3])) do
  found[#found + 1] = members[k]
  found[#found + 1] = redis.call('HGET', KEYS[2], members[k]) or ''
end
return found
"""


class LedgerReads:
    def __init__(self, redis: Redis, topology: Topology, policy: Policy) -> None:
        self.redis = redis
        self.topology = topology
        self.policy = policy
        self._group = redis.register_script(_GROUP)

    async def timeline_fields(self, report_id: int) -> dict[str, str]:
        return stages(await self.redis.hgetall(self.topology.timeline_key(report_id)))

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
            pipe.hgetall(t.link_stats)
            pipe.zcount(t.preservation_watch, now, now + self.policy.at_risk_s)
            replies = list(await pipe.execute())
        totals = _text(replies.pop(0))
        agencies = {a: _text(replies.pop(0)) for a in agency_ids}
        lanes = {lane: _text(replies.pop(0)) for lane in LANES}
        lanes["all"] = totals
        by_esp = {e: _text(replies.pop(0)) for e in esps}
        reasons = _text(replies.pop(0))
        open_count, oldest, dark, lost, link_stats, at_risk = replies
        return Figures(totals, agencies, lanes, by_esp, reasons, int(open_count),
                       oldest[0][1] if oldest else None, int(dark), int(lost), _text(link_stats),
                       int(at_risk))

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
        return int(count), [(*parse_case(m), score) for m, score in page]

    async def agency_queue(self, agency_id: str, offset: int, limit: int
                           ) -> tuple[int, list[tuple[int, float]]]:
        """An agency's unacknowledged cases in an investigator's order (priority, preservation
        day, larger groups first): how many, and a page of (report id, handoff time)."""
        t = self.topology
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(t.agency_queue(agency_id))
            pipe.zrange(t.agency_queue(agency_id), offset, offset + limit - 1)
            total, members = await pipe.execute()
        if not members:
            return int(total), []
        handed = await self.redis.zmscore(t.agency_open(agency_id), members)
        return int(total), [(int(m), h or 0.0) for m, h in zip(members, handed, strict=True)]

    async def group_of(self, report_id: int, limit: int = 200
                       ) -> tuple[int | None, list[tuple[int, str | None]]]:
        """A report's link group now (its name, or None when it is in none) and its reports with
        the agency holding each (at most `limit`)."""
        t = self.topology
        root, *flat = await self._group(keys=[t.link_parents, t.link_held],
                                        args=[report_id, t.link_members_prefix, limit])
        if len(flat) < 4:
            return None, []
        return int(root), [(int(flat[i]), flat[i + 1].decode() or None)
                           for i in range(0, len(flat), 2)]

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
            return [stages(h) for h in await pipe.execute()]

    async def open_reports_handed_before(self, cutoff: float, chunk: int = 1000) -> set[int]:
        """The reports with a case handed to an agency before `cutoff` and not yet acknowledged."""
        reports: set[int] = set()
        start = 0
        while True:
            members = await self.redis.zrangebyscore(self.topology.gap_open, "-inf", cutoff,
                                                     start=start, num=chunk)
            reports.update(parse_case(m)[0] for m in members)
            if len(members) < chunk:
                return reports
            start += chunk
