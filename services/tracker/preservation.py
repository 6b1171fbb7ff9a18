"""The preservation clock, watched beside the SLA: a platform keeps a report's content for
TIPLINE_PRESERVATION_DAYS from its submission, and a case acknowledged later may have nothing left
to subpoena. Each unacknowledged case is watched twice: its agency is warned once its
preservation ends within TIPLINE_PRESERVATION_AT_RISK_DAYS (the router re-notifies it, as for an
SLA breach), and when it ends unacknowledged (and so without an outcome) the case is counted as
expired. Each happens once, however many trackers run (a ZREM decides)."""

import json
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from services.tracker.domain import PRIORITY_OF_LANE, Policy
from services.tracker.reads import due_cases
from shared.clock import Clock
from shared.logging import get_logger
from shared.publishing import LUA, Publisher
from shared.redis_scripts import queue_script
from shared.schemas.events import PreservationExpiring
from shared.topology import Topology
from shared.worker import Periodic

log = get_logger(__name__)

BATCH = 200

# Warn once. KEYS: warn set, breaches stream. ARGV: case, then the warning's entry fields.
_WARN = LUA + """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
publish(KEYS[2], ARGV, 2)
return 1
"""

# Count an expiry once. KEYS: the watch, the timeline, then the counters. ARGV: case, the
# timeline field, its detail, the counter's name.
_EXPIRE = """
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[3])
for i = 3, #KEYS do redis.call('HINCRBY', KEYS[i], ARGV[4], 1) end
return 1
"""


class PreservationWatcher:
    def __init__(self, redis: Redis, topology: Topology, publisher: Publisher, policy: Policy,
                 clock: Clock, interval_ms: int) -> None:
        self.redis = redis
        self.topology = topology
        self.publisher = publisher
        self.policy = policy
        self.clock = clock
        self.interval_s = interval_ms / 1000
        self._warn = redis.register_script(_WARN)
        self._expire = redis.register_script(_EXPIRE)
        self._last_due = 0

    async def check_once(self) -> tuple[int, int]:
        """Warn the agencies due a warning and count the expiries due now: (warned, expired)."""
        t = self.topology
        now = self.clock.now()
        warn = await due_cases(self.redis, t, t.preservation_warn, now, BATCH)
        expire = await due_cases(self.redis, t, t.preservation_watch, now, BATCH)
        self._last_due = max(len(warn), len(expire))
        if not warn and not expire:
            return 0, 0
        async with self.redis.pipeline(transaction=False) as pipe:
            for report_id, agency, detail in warn:
                queue_script(pipe, self._warn, keys=[t.preservation_warn, t.sla_breaches],
                             args=[f"{report_id}:{agency}", *self.publisher.args(
                                 t.sla_breaches, self.warning(report_id, agency, detail, now))])
            for report_id, agency, detail in expire:
                dims = [t.gap_totals, t.gap_by_agency(agency)]
                if detail.get("lane"):
                    dims.append(t.gap_by_lane(detail["lane"]))
                if detail.get("esp"):
                    dims.append(t.gap_by_esp(detail["esp"]))
                queue_script(pipe, self._expire,
                             keys=[t.preservation_watch, t.timeline_key(report_id), *dims],
                             args=[f"{report_id}:{agency}", f"preservation_expired:{agency}",
                                   json.dumps({"at": datetime.fromtimestamp(now, UTC).isoformat(),
                                               "preserveUntil": detail.get("preserveUntil")}),
                                   "preservation_expired"])
            done = await pipe.execute()
        warned, expired = sum(done[:len(warn)]), sum(done[len(warn):])
        if warned or expired:
            log.info("preservation clock", warned=warned, expired=expired)
        return warned, expired

    def warning(self, report_id: int, agency: str, detail: dict[str, Any],
                now: float) -> PreservationExpiring:
        until = datetime.fromisoformat(detail["preserveUntil"]) if detail.get("preserveUntil") \
            else datetime.fromtimestamp(now, UTC)
        lane = detail.get("lane", "p3")
        return PreservationExpiring(
            report_id=report_id, producer="tracker", esp=detail.get("esp", ""), agency_id=agency,
            lane=lane, priority=detail.get("priority", PRIORITY_OF_LANE[lane]),
            why=detail.get("why", "jurisdiction"), jurisdiction=detail.get("jurisdiction", ""),
            incident_type=detail.get("incidentType", ""), preserve_until=until,
            days_left=round(max(self.policy.days_between(now, until.timestamp()), 0.0), 2))

    def worker(self) -> Periodic:
        async def step() -> bool:
            await self.check_once()
            return self._last_due >= BATCH

        return Periodic("preservation-watcher", step, self.interval_s)
