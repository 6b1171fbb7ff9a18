"""Agencies: a case in an inbox waits its turn, is planned and its responses scheduled; a clock
releases them when due."""

import time
from datetime import UTC, datetime

from redis.asyncio import Redis

from services.agencies.domain import hours_per_case, plan_responses
from shared import topology
from shared.consumer import Outbox, encode, queue_script
from shared.directory import Directory
from shared.logging import get_logger
from shared.schemas.events import CaseAssigned

log = get_logger(__name__)

# The agency's backlog as the wall time it is busy until: a new case starts when the agency is
# free and keeps it busy for its share of a day. Returns the seconds the case waits.
_TAKE_TURN = """
local now = tonumber(ARGV[1])
local busy = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(busy, now)
redis.call('SET', KEYS[1], start + tonumber(ARGV[2]), 'EX', 86400 * 30)
return tostring(start - now)
"""


class Agencies:
    def __init__(self, redis: Redis, directory: Directory, sim_seconds_per_hour: float) -> None:
        self.redis = redis
        self.directory = directory
        self.seconds_per_hour = sim_seconds_per_hour
        self._take_turn = redis.register_script(_TAKE_TURN)

    async def prepare(self, cases: list[CaseAssigned]) -> dict[str, float]:
        """Each case takes its turn in its agency's backlog: the waits of a batch in one round trip."""
        now = time.time()
        # A case for an agency not in the directory gets no turn: its handler fails and the loop
        # dead-letters it, without holding up the rest of the batch.
        known = [c for c in cases if self.directory.get(c.agency_id)]
        async with self.redis.pipeline(transaction=False) as pipe:
            for case in known:
                profile = self.directory.by_id(case.agency_id).profile
                queue_script(pipe, self._take_turn, keys=[topology.agency_busy_until(case.agency_id)],
                             args=[now, hours_per_case(profile) * self.seconds_per_hour])
            waits = await pipe.execute() if known else []
        return {case.event_id: float(wait) for case, wait in zip(known, waits, strict=True)}

    def on_case_assigned(self, case: CaseAssigned, out: Outbox) -> None:
        profile = self.directory.by_id(case.agency_id).profile
        now = time.time()
        wait_s: float = out.prepared
        plan = plan_responses(case, profile, queue_hours=wait_s / self.seconds_per_hour)
        for planned in plan:
            due = now + planned.after_hours * self.seconds_per_hour
            # The response happens when it is released, not when it is planned.
            event = planned.event.model_copy(update={"occurred_at": datetime.fromtimestamp(due, UTC)})
            member = encode(event)[b"data"]
            out.write(lambda pipe, m=member, d=due: pipe.zadd(topology.AGENCY_SCHEDULE, {m: d}))
        log.info("case received", agency=case.agency_id, lane=case.lane, why=case.why,
                 queue_hours=round(wait_s / self.seconds_per_hour, 2),
                 will_acknowledge=bool(plan), will_report_outcome=len(plan) > 1)
