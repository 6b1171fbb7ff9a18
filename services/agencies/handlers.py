"""Agencies: a case in an inbox is planned and its responses scheduled; a clock releases them when due."""

import time
from datetime import UTC, datetime

from services.agencies.domain import plan_responses
from shared import topology
from shared.consumer import Outbox, encode
from shared.directory import Directory
from shared.logging import get_logger
from shared.schemas.events import CaseAssigned

log = get_logger(__name__)


class Agencies:
    def __init__(self, directory: Directory, sim_seconds_per_hour: float) -> None:
        self.directory = directory
        self.seconds_per_hour = sim_seconds_per_hour

    def on_case_assigned(self, case: CaseAssigned, out: Outbox) -> None:
        profile = self.directory.by_id(case.agency_id).profile
        plan = plan_responses(case, profile)
        now = time.time()
        for planned in plan:
            due = now + planned.after_hours * self.seconds_per_hour
            # The response happens when it is released, not when it is planned.
            event = planned.event.model_copy(update={"occurred_at": datetime.fromtimestamp(due, UTC)})
            member = encode(event)[b"data"]
            out.write(lambda pipe, m=member, d=due: pipe.zadd(topology.AGENCY_SCHEDULE, {m: d}))
        log.info("case received", agency=case.agency_id, lane=case.lane,
                 will_acknowledge=bool(plan), will_report_outcome=len(plan) > 1)
