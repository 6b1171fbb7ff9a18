"""Agency simulation: when (if ever) a mock agency acknowledges a case, and whether it reports back."""

import math
import random
from dataclasses import dataclass

from shared.directory import AgencyProfile
from shared.schemas.events import (
    OUTCOMES,
    CaseAcknowledged,
    CaseAssigned,
    CaseOutcomeReported,
    derived_event_id,
)


@dataclass(frozen=True)
class PlannedResponse:
    after_hours: float
    event: CaseAcknowledged | CaseOutcomeReported


def _lognormal_hours(rng: random.Random, median: float, spread: float) -> float:
    return median * math.exp(rng.gauss(0.0, spread)) if median > 0 else 0.0


def hours_per_case(profile: AgencyProfile) -> float:
    """How long one case occupies the agency: a day divided by its capacity."""
    return 24.0 / profile.capacity_per_day


def next_turn(busy_until: float, now: float, occupies: float) -> tuple[float, float]:
    """A case reaching an agency at `now`: it is taken up when the agency is free, and keeps it
    busy for `occupies`. Returns (when it is taken up, when the agency is free again), in the
    caller's unit of time."""
    start = max(busy_until, now)
    return start, start + occupies


@dataclass(frozen=True)
class Response:
    """What an agency will do with one case, in simulated hours from its arrival: acknowledge it
    (or never: None), and report an outcome (or not)."""

    ack_after: float | None
    outcome_after: float | None = None
    outcome: str | None = None


def respond(rng: random.Random, profile: AgencyProfile, lane: str,
            queue_hours: float = 0.0) -> Response:
    """The agency's answer to one case drawn from `rng`: never (its never-acknowledge share), or an
    acknowledgement after the wait behind its backlog plus its own delay, then sometimes an
    outcome."""
    if rng.random() < profile.never_ack_share:
        return Response(None)
    ack_after = round(queue_hours + _lognormal_hours(rng, profile.ack_median_hours[lane],
                                                     profile.ack_spread), 3)
    if rng.random() < profile.outcome_share:
        outcome_after = round(
            ack_after + _lognormal_hours(rng, profile.outcome_median_hours, profile.ack_spread), 3)
        return Response(ack_after, outcome_after, rng.choice(OUTCOMES))
    return Response(ack_after)


def plan_responses(case: CaseAssigned, profile: AgencyProfile,
                   queue_hours: float = 0.0) -> list[PlannedResponse]:
    """What the agency will send back for this case, and after how many simulated hours: its own
    delay plus the time the case waits behind the agency's backlog. The plan depends only on the
    case and the wait, so the same case always gets the same plan."""
    answer = respond(random.Random(case.event_id), profile, case.lane, queue_hours)
    if answer.ack_after is None:
        return []
    common = dict(report_id=case.report_id, producer="agencies", agency_id=case.agency_id,
                  lane=case.lane, esp=case.esp, why=case.why)
    plan = [PlannedResponse(answer.ack_after, CaseAcknowledged(
        event_id=derived_event_id(case.event_id, "acknowledged"), after_hours=answer.ack_after,
        notice=case.deconfliction, **common))]
    # A deconfliction notice is acknowledged like a case; it has no outcome of its own.
    if answer.outcome_after is not None and case.why != "deconfliction":
        plan.append(PlannedResponse(answer.outcome_after, CaseOutcomeReported(
            event_id=derived_event_id(case.event_id, "outcome"), outcome=answer.outcome,
            after_hours=answer.outcome_after, **common)))
    return plan
