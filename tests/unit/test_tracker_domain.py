"""The tracker's ledger rules, without any broker."""

import json

import pytest

from services.tracker.domain import gap, gap_row, step_for, timeline
from shared.schemas.events import CaseAcknowledged, ReportRouted, ReportUnassigned


def test_routing_opens_a_case_and_acknowledgement_closes_it():
    routed = step_for(ReportRouted(report_id=1, producer="t", agency_id="a", jurisdiction="US-CA",
                                   basis="estimatedLocation", priority=1, lane="p1"))
    acked = step_for(CaseAcknowledged(report_id=1, producer="t", agency_id="a", lane="p1",
                                      after_hours=2.5))
    assert (routed.counters, routed.open_case, routed.agency_id) == (("forwarded",), "add", "a")
    assert (acked.counters, acked.open_case, acked.sums) == (("acknowledged",), "remove", {"ack_hours": 2.5})


def test_unassigned_counts_by_lane_not_by_agency():
    step = step_for(ReportUnassigned(report_id=1, producer="t", reasons=["x"], priority=3,
                                     lane="informational"))
    assert step.agency_id is None and step.lane == "informational" and step.counters == ("unassigned",)


def test_timeline_orders_stages_by_time_and_summarises():
    fields = {
        "acknowledged": json.dumps({"at": "2026-01-01T00:00:03+00:00", "agency": "a", "afterHours": 4}),
        "submitted": json.dumps({"at": "2026-01-01T00:00:00+00:00", "lane": "standard", "esp": "e"}),
        "routed": json.dumps({"at": "2026-01-01T00:00:02+00:00", "agency": "a", "lane": "p2"}),
        "triaged": json.dumps({"at": "2026-01-01T00:00:01+00:00", "priority": 2,
                               "disposition": "referral", "lane": "p2", "reasons": []}),
    }
    t = timeline(7, fields)
    assert [s.stage for s in t.stages] == ["submitted", "triaged", "routed", "acknowledged"]
    assert (t.priority, t.agency, t.acknowledged, t.acknowledged_after_hours) == (2, "a", True, 4)
    assert t.outcome is None and t.unassigned_reasons is None


def test_gap_shares_and_means():
    row = gap_row("a", {"forwarded": "10", "acknowledged": "4", "ack_hours": "20.0", "outcome": "1"})
    assert row.no_ack_share == pytest.approx(0.6) and row.mean_ack_hours == pytest.approx(5.0)
    assert gap_row("empty", {}).no_ack_share is None
    g = gap({"forwarded": "10", "acknowledged": "4", "submitted": "12", "unassigned": "2"},
            {"a": {"forwarded": "10", "acknowledged": "4"}}, {}, open_count=6, oldest_open_hours=30.0)
    assert (g.forwarded, g.unassigned, g.open.count) == (10, 2, 6)
    assert [r.name for r in g.by_lane] == ["p1", "p2", "p3", "informational"]
