"""The agency simulator, without any broker."""

from services.agencies.domain import plan_responses
from shared.directory import AgencyProfile
from shared.schemas.events import CaseAcknowledged, CaseAssigned, CaseOutcomeReported


def case(n: int, lane="p2") -> CaseAssigned:
    return CaseAssigned(esp="test-esp", event_id=f"case-{n}", report_id=n + 1, producer="t",
                        agency_id="icac-x",
                        priority=2, lane=lane, jurisdiction="US-CA", incident_type="x")


def profile(never=0.0, outcome=0.0, p1=1.0) -> AgencyProfile:
    return AgencyProfile(ack_median_hours={"p1": p1, "p2": 24, "p3": 72, "informational": 200},
                         never_ack_share=never, outcome_share=outcome)


def _essence(plan):
    return [(p.after_hours, p.event.event_id, p.event.type, getattr(p.event, "outcome", None))
            for p in plan]


def test_the_same_case_always_gets_the_same_plan():
    for n in range(30):
        first = plan_responses(case(n), profile(0.3, 0.5))
        assert _essence(first) == _essence(plan_responses(case(n), profile(0.3, 0.5)))


def test_an_agency_that_never_acknowledges_sends_nothing():
    assert all(plan_responses(case(n), profile(never=1.0)) == [] for n in range(50))


def test_acknowledgement_then_outcome_in_that_order():
    for n in range(50):
        ack, outcome = plan_responses(case(n), profile(never=0.0, outcome=1.0))
        assert isinstance(ack.event, CaseAcknowledged) and isinstance(outcome.event, CaseOutcomeReported)
        assert 0 <= ack.after_hours <= outcome.after_hours
        assert outcome.event.outcome


def test_shares_come_out_near_the_profile():
    plans = [plan_responses(case(n), profile(never=0.25, outcome=0.5)) for n in range(2000)]
    never = sum(1 for p in plans if not p) / len(plans)
    with_outcome = sum(1 for p in plans if len(p) == 2) / sum(1 for p in plans if p)
    assert abs(never - 0.25) < 0.04 and abs(with_outcome - 0.5) < 0.05


def test_urgent_lanes_are_acknowledged_sooner_when_the_profile_says_so():
    p1 = sorted(plan_responses(case(n, "p1"), profile())[0].after_hours for n in range(301))
    p3 = sorted(plan_responses(case(n, "p3"), profile())[0].after_hours for n in range(301))
    assert p1[150] < p3[150]
    assert 0.7 < p1[150] < 1.4  # the median is near the profile's 1 hour
