"""Agencies: a case in an inbox waits its turn in its agency's backlog, is planned, and its
responses are scheduled; a clock releases them when due."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from services.agencies.domain import hours_per_case, plan_responses
from services.agencies.store import Turn
from shared.directory import Directory
from shared.effects import Effects
from shared.faults import NONE as NO_FAULTS
from shared.faults import Faults
from shared.logging import get_logger
from shared.schemas.events import CaseAssigned
from shared.topology import Topology

log = get_logger(__name__)


class Backlogs(Protocol):
    async def take_turns(self, cases: list[tuple[CaseAssigned, float]]) -> dict[str, Turn]: ...


@dataclass(frozen=True)
class Taken:
    """A case's turn in its agency's backlog, and whether the agency was silent (a fault) when
    the case reached it."""

    turn: Turn
    silent: bool = False


class Agencies:
    def __init__(self, backlogs: Backlogs, directory: Directory, topology: Topology,
                 sim_seconds_per_hour: float, faults: Callable[[], Faults] = lambda: NO_FAULTS
                 ) -> None:
        self.backlogs = backlogs
        self.faults = faults
        self.directory = directory
        self.topology = topology
        self.seconds_per_hour = sim_seconds_per_hour

    async def prepare(self, cases: list[CaseAssigned]) -> dict[str, Taken]:
        """Each case takes its turn in its agency's backlog: the turns of a batch in one round trip.
        An agency working at a share of its capacity (a fault) takes longer over each case. A
        case for an agency not in the directory gets none: its handler fails and the loop
        dead-letters it, without holding up the rest of the batch."""
        faults = self.faults()
        known = [(c, hours_per_case(agency.profile) * self.seconds_per_hour
                  / faults.capacity_share(c.agency_id)) for c in cases
                 if (agency := self.directory.get(c.agency_id)) and agency.played_by == "simulator"]
        turns = await self.backlogs.take_turns(known)
        return {case.event_id: Taken(turns[case.event_id], faults.silent(case.agency_id))
                for case, _ in known}

    def on_case_assigned(self, case: CaseAssigned, out: Effects) -> None:
        agency = self.directory.by_id(case.agency_id)
        if agency.played_by == "people":  # its responses come through the agency API
            log.info("case waits for the people playing its agency", agency=case.agency_id)
            return
        profile = agency.profile
        taken: Taken = out.prepared
        turn = taken.turn
        if taken.silent:
            log.info("case received by a silent agency (a fault): it will not be acknowledged",
                     agency=case.agency_id)
            return
        plan = plan_responses(case, profile, queue_hours=turn.wait_s / self.seconds_per_hour)
        for planned in plan:
            due = turn.received_at + planned.after_hours * self.seconds_per_hour
            # The response happens when it is released, not when it is planned.
            event = planned.event.model_copy(update={"occurred_at": datetime.fromtimestamp(due, UTC)})
            out.publish_at(due, self.topology.agency_schedule, self.topology.agency_responses, event)
        log.info("case received", agency=case.agency_id, lane=case.lane, why=case.why,
                 queue_hours=round(turn.wait_s / self.seconds_per_hour, 2),
                 will_acknowledge=bool(plan), will_report_outcome=len(plan) > 1)
