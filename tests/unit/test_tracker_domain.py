"""The tracker's ledger rules, without any broker."""

import json

import pytest

from services.tracker.domain import gap, gap_row, sla_breach, steps_for, timeline
from shared.schemas.events import (
    CaseAcknowledged,
    CaseEscalated,
    Notified,
    ReportRouted,
    ReportUnassigned,
)


def routed(**extra) -> ReportRouted:
    return ReportRouted(report_id=1, producer="t", agency_id="a", jurisdiction="US-CA",
                        basis="estimatedLocation", confidence=1.0, priority=1, lane="p1", **extra)


def test_routing_hands_the_case_over_and_opens_it():
    routed_step, handoff = steps_for(routed())
    assert routed_step.stage == "routed" and routed_step.counters == ("routed",)
    assert (handoff.stage, handoff.counters, handoff.open_case) == ("handoff:a", ("forwarded",), "add")
    assert handoff.watch_sla  # a priority-1 case with its local agency


def test_a_federal_partner_notified_as_well_is_a_second_handoff_not_watched():
    steps = steps_for(routed(also_notified=[Notified(agency_id="fed", why="federal_nexus")]))
    [fed] = [s for s in steps if s.stage == "handoff:fed"]
    assert fed.counters == ("forwarded",) and not fed.watch_sla


def test_acknowledgement_closes_that_agencys_case():
    [ack] = steps_for(CaseAcknowledged(report_id=1, producer="t", agency_id="a", lane="p1",
                                       after_hours=2.5))
    assert (ack.stage, ack.counters, ack.open_case, ack.sums) == (
        "acknowledged:a", ("acknowledged",), "remove", {"ack_hours": 2.5})


def test_unassigned_counts_by_lane_and_offers_the_case_to_the_federal_partner():
    unassigned, offer = steps_for(ReportUnassigned(report_id=1, producer="t", reasons=["x"],
                                                   priority=3, lane="informational",
                                                   offered_to="fed"))
    assert unassigned.agency_id is None and unassigned.counters == ("unassigned",)
    assert offer.stage == "handoff:fed" and offer.counters == ("forwarded", "offered")


def test_an_escalation_is_recorded_and_is_a_new_handoff():
    escalated, handoff = steps_for(CaseEscalated(report_id=1, producer="t", from_agency="a",
                                                 to_agency="fed", lane="p1"))
    assert escalated.stage == "escalated:a" and handoff.stage == "handoff:fed"
    assert handoff.detail["why"] == "escalation" and not handoff.watch_sla


def test_sla_breaches_come_at_two_levels_then_stop():
    detail = {"priority": 1, "jurisdiction": "US-CA", "incidentType": "x", "lane": "p1"}
    assert sla_breach(1, "a", detail, 1, 5.0).level == 1
    assert sla_breach(1, "a", detail, 2, 9.0).level == 2
    assert sla_breach(1, "a", detail, 3, 13.0) is None


def _f(**stages) -> dict[str, str]:
    return {k.replace("__", ":"): json.dumps(v) for k, v in stages.items()}


def test_timeline_orders_stages_by_time_and_summarises_the_primary_handoff():
    fields = _f(
        acknowledged__a={"at": "2026-01-01T00:00:05+00:00", "afterHours": 4},
        submitted={"at": "2026-01-01T00:00:00+00:00", "lane": "standard", "esp": "e"},
        routed={"at": "2026-01-01T00:00:02+00:00", "agency": "a", "lane": "p2"},
        handoff__a={"at": "2026-01-01T00:00:02+00:00", "why": "jurisdiction"},
        handoff__fed={"at": "2026-01-01T00:00:02+00:00", "why": "federal_nexus"},
        triaged={"at": "2026-01-01T00:00:01+00:00", "priority": 2, "disposition": "referral",
                 "lane": "p2", "reasons": [], "actionability": 70},
    )
    t = timeline(7, fields)
    assert [s.stage for s in t.stages] == ["submitted", "triaged", "routed", "handoff", "handoff",
                                           "acknowledged"]
    assert (t.priority, t.agency, t.acknowledged, t.acknowledged_after_hours) == (2, "a", True, 4)
    assert {h.agency: h.acknowledged_at is not None for h in t.handoffs} == {"a": True, "fed": False}
    assert t.actionability == 70 and t.unassigned_reasons is None


def test_gap_shares_and_means():
    row = gap_row("a", {"forwarded": "10", "acknowledged": "4", "ack_hours": "20.0", "outcome": "1"})
    assert row.no_ack_share == pytest.approx(0.6) and row.mean_ack_hours == pytest.approx(5.0)
    assert gap_row("empty", {}).no_ack_share is None
    g = gap({"forwarded": "10", "acknowledged": "4", "submitted": "12", "unassigned": "2",
             "offered": "2"}, {"a": {"forwarded": "10", "acknowledged": "4"}, "quiet": {}}, {},
            open_count=6, oldest_open_hours=30.0)
    assert (g.forwarded, g.unassigned, g.offered_to_federal, g.open.count) == (10, 2, 2, 6)
    assert [r.name for r in g.by_agency] == ["a"]  # agencies with nothing yet are left out
    assert [r.name for r in g.by_lane] == ["p1", "p2", "p3", "informational"]
