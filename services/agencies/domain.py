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


def plan_responses(case: CaseAssigned, profile: AgencyProfile,
                   queue_hours: float = 0.0) -> list[PlannedResponse]:
    """What the agency will send back for this case, and after how many simulated hours: its own
    delay plus the time the case waits behind the agency's backlog. The plan depends only on the
    case and the wait, so the same case always gets the same plan."""
    rng = random.Random(case.event_id)
    if rng.random() < profile.never_ack_share:
        return []
    ack_after = round(queue_hours + _lognormal_hours(rng, profile.ack_median_hours[case.lane],
                                                     profile.ack_spread), 3)
    common = dict(report_id=case.report_id, producer="agencies", agency_id=case.agency_id,
                  lane=case.lane, esp=case.esp, why=case.why)
    plan = [PlannedResponse(ack_after, CaseAcknowledged(
        event_id=derived_event_id(case.event_id, "acknowledged"), after_hours=ack_after, **common))]
    if rng.random() < profile.outcome_share:
        outcome_after = round(
            ack_after + _lognormal_hours(rng, profile.outcome_median_hours, profile.ack_spread), 3)
        plan.append(PlannedResponse(outcome_after, CaseOutcomeReported(
            event_id=derived_event_id(case.event_id, "outcome"), outcome=rng.choice(OUTCOMES),
            after_hours=outcome_after, **common)))
    return plan
