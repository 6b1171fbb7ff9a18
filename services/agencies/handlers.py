"""Agencies: a case in an inbox waits its turn in its agency's backlog, is planned, and its
responses are scheduled; a clock releases them when due."""

from datetime import UTC, datetime
from typing import Protocol

from services.agencies.domain import hours_per_case, plan_responses
from services.agencies.store import Turn
from shared.directory import Directory
from shared.effects import Effects
from shared.logging import get_logger
from shared.schemas.events import CaseAssigned
from shared.topology import Topology

log = get_logger(__name__)


class Backlogs(Protocol):
    async def take_turns(self, cases: list[tuple[CaseAssigned, float]]) -> dict[str, Turn]: ...


class Agencies:
    def __init__(self, backlogs: Backlogs, directory: Directory, topology: Topology,
                 sim_seconds_per_hour: float) -> None:
        self.backlogs = backlogs
        self.directory = directory
        self.topology = topology
        self.seconds_per_hour = sim_seconds_per_hour

    async def prepare(self, cases: list[CaseAssigned]) -> dict[str, Turn]:
        """Each case takes its turn in its agency's backlog: the turns of a batch in one round trip.
        A case for an agency not in the directory gets none: its handler fails and the loop
        dead-letters it, without holding up the rest of the batch."""
        known = [(c, hours_per_case(agency.profile) * self.seconds_per_hour) for c in cases
                 if (agency := self.directory.get(c.agency_id)) and agency.played_by == "simulator"]
        return await self.backlogs.take_turns(known)

    def on_case_assigned(self, case: CaseAssigned, out: Effects) -> None:
        agency = self.directory.by_id(case.agency_id)
        if agency.played_by == "people":  # its responses come through the agency API
            log.info("case waits for the people playing its agency", agency=case.agency_id)
            return
        profile = agency.profile
        turn: Turn = out.prepared
        plan = plan_responses(case, profile, queue_hours=turn.wait_s / self.seconds_per_hour)
        for planned in plan:
            due = turn.received_at + planned.after_hours * self.seconds_per_hour
            # The response happens when it is released, not when it is planned.
            event = planned.event.model_copy(update={"occurred_at": datetime.fromtimestamp(due, UTC)})
            out.publish_at(due, self.topology.agency_schedule, self.topology.agency_responses, event)
        log.info("case received", agency=case.agency_id, lane=case.lane, why=case.why,
                 queue_hours=round(turn.wait_s / self.seconds_per_hour, 2),
                 will_acknowledge=bool(plan), will_report_outcome=len(plan) > 1)
