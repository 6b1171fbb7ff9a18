"""The tracker's ledger rules and statistics, without any broker, against hand-computed values."""

import json
from datetime import UTC, datetime

import pytest

from services.tracker.domain import (
    HOUR_BOUNDS,
    Policy,
    bucket_of,
    data_quality,
    esp_row,
    gap,
    gap_row,
    histograms,
    percentile,
    series,
    sla_breach,
    steps_for,
    timeline,
)
from shared.schemas.events import (
    ActionabilityScore,
    CaseAcknowledged,
    CaseEscalated,
    CaseOutcomeReported,
    Notified,
    ReportRouted,
    ReportTriaged,
    ReportUnassigned,
    RuleHit,
    SlaBreached,
)
from shared.schemas.facts import RoutingFacts

POLICY = Policy(sla_hours={"p1": 4, "p2": 72, "p3": 720, "informational": None},
                seconds_per_hour=10.0, lost_sight_days=30)
AT = datetime(2026, 1, 1, tzinfo=UTC)
T0 = AT.timestamp()


def routed(**extra) -> ReportRouted:
    return ReportRouted(report_id=1, producer="t", esp="esp-a", agency_id="a",
                        jurisdiction="US-CA", basis="estimatedLocation", confidence=1.0,
                        priority=1, lane="p1", occurred_at=AT, **extra)


# ---- steps ----

def test_routing_hands_the_case_over_and_watches_it_until_its_deadline():
    routed_step, handoff = steps_for(routed(), POLICY)
    assert (routed_step.stage, routed_step.counts) == ("routed", ("routed",))
    assert (handoff.stage, handoff.counts, handoff.kind) == ("handoff:a", ("forwarded",), "handoff")
    assert handoff.deadline == T0 + 4 * 10.0  # 4 simulated hours of 10 s
    assert (handoff.esp, handoff.lane, handoff.why) == ("esp-a", "p1", "jurisdiction")
    assert handoff.series == ("forwarded",)


def test_a_federal_partner_notified_as_well_is_a_second_handoff_with_the_same_deadline():
    steps = steps_for(routed(also_notified=[Notified(agency_id="fed", why="federal_nexus")]), POLICY)
    [fed] = [s for s in steps if s.stage == "handoff:fed"]
    assert fed.counts == ("forwarded",) and fed.why == "federal_nexus"
    assert fed.deadline == T0 + 40.0


def test_an_informational_case_has_no_deadline():
    [_, handoff] = steps_for(routed().model_copy(update={"lane": "informational",
                                                         "priority": 3}), POLICY)
    assert handoff.deadline is None


def test_an_acknowledgement_carries_the_hours_and_takes_an_offer():
    [ack] = steps_for(CaseAcknowledged(report_id=1, producer="t", esp="e", agency_id="fed",
                                       lane="p3", why="unassigned_offer", after_hours=2.5), POLICY)
    assert (ack.stage, ack.counts, ack.hours) == ("acknowledged:fed",
                                                  ("acknowledged", "offers_taken"), 2.5)


def test_an_outcome_carries_its_hours():
    [outcome] = steps_for(CaseOutcomeReported(report_id=1, producer="t", esp="e", agency_id="a",
                                              lane="p2", why="jurisdiction", outcome="arrest made",
                                              after_hours=40.0), POLICY)
    assert (outcome.stage, outcome.counts, outcome.hours) == ("outcome:a", ("outcome",), 40.0)


def test_unassigned_counts_its_reasons_and_offers_the_case_to_the_federal_partner():
    unassigned, offer = steps_for(ReportUnassigned(report_id=1, producer="t", esp="e",
                                                   reasons=["x", "y"], priority=3,
                                                   lane="informational", offered_to="fed"), POLICY)
    assert unassigned.agency_id is None and unassigned.reasons == ("x", "y")
    assert offer.stage == "handoff:fed" and offer.counts == ("forwarded", "offered")


def test_triage_records_the_esps_data_quality():
    [step] = steps_for(ReportTriaged(
        report_id=1, producer="t", esp="e", priority=3, disposition="informational",
        lane="informational", reasons=[RuleHit(rule="r", reason="r")],
        actionability=ActionabilityScore(score=35, missing=["ipCaptureEvent", "victimDetails"]),
        routing=RoutingFacts.of(_report())), POLICY)
    assert step.counts == ("triaged", "informational")
    assert step.quality.score == 35 and step.quality.score_bucket == 3  # 31-40
    assert step.quality.missing == ("ipCaptureEvent", "victimDetails")


def _report():
    from shared.schemas.report import FiledReport
    from shared.synthetic import synthetic_report

    return FiledReport.model_validate(synthetic_report("referral"))


def test_an_escalation_is_recorded_and_is_a_new_handoff():
    escalated, handoff = steps_for(CaseEscalated(report_id=1, producer="t", esp="e",
                                                 from_agency="a", to_agency="fed", lane="p1"),
                                   POLICY)
    assert escalated.stage == "escalated:a" and handoff.stage == "handoff:fed"
    assert handoff.detail["why"] == "escalation"


def test_only_a_first_breach_darkens_the_case():
    first = SlaBreached(report_id=1, producer="t", esp="e", agency_id="a", lane="p1", priority=1,
                        why="jurisdiction", jurisdiction="x", incident_type="x", level=1,
                        open_hours=5)
    [one] = steps_for(first, POLICY)
    [two] = steps_for(first.model_copy(update={"level": 2}), POLICY)
    assert one.series == ("newly_dark",) and two.series == ()
    assert one.counts == two.counts == ("sla_breaches",)


# ---- SLA, dark, lost sight ----

@pytest.mark.parametrize(("lane", "why", "levels"), [
    ("p1", "jurisdiction", 2), ("p1", "federal_nexus", 1), ("p2", "jurisdiction", 1),
    ("p3", "unassigned_offer", 1)])
def test_a_local_priority_one_case_is_breached_twice_every_other_once(lane, why, levels):
    detail = {"priority": 1, "jurisdiction": "US-CA", "incidentType": "x", "lane": lane,
              "why": why, "esp": "e"}
    assert POLICY.breach_levels(lane, why) == levels
    assert sla_breach(1, "a", detail, 1, 5.0, POLICY).level == 1
    assert (sla_breach(1, "a", detail, 2, 9.0, POLICY) is not None) == (levels == 2)
    assert sla_breach(1, "a", detail, 3, 13.0, POLICY) is None


def test_deadlines_and_lost_sight_in_wall_time():
    assert POLICY.deadline("p2", 100.0) == 100.0 + 72 * 10.0
    assert POLICY.deadline("informational", 100.0) is None
    assert POLICY.lost_sight_before(100_000.0) == 100_000.0 - 30 * 24 * 10.0
    assert POLICY.hours_between(100.0, 125.0) == 2.5 and POLICY.hours_between(5.0, 1.0) == 0


# ---- statistics ----

def test_buckets_put_a_value_in_the_first_bucket_that_holds_it():
    assert bucket_of(0) == 0 and bucket_of(0.25) == 0 and bucket_of(0.3) == 1
    assert bucket_of(4) == HOUR_BOUNDS.index(4) and bucket_of(5000) == len(HOUR_BOUNDS) - 1


def test_percentiles_from_buckets_interpolate_within_the_bucket():
    counts = [0] * len(HOUR_BOUNDS)
    # ten cases: four in (1, 2], four in (2, 4], two in (4, 8]
    counts[HOUR_BOUNDS.index(2)] = 4
    counts[HOUR_BOUNDS.index(4)] = 4
    counts[HOUR_BOUNDS.index(8)] = 2
    # p50: rank 5 is the 1st of the four in (2, 4]: 2 + 2 * 1/4 = 2.5
    assert percentile(counts, 0.5) == pytest.approx(2.5)
    # p90: rank 9 is the 1st of the two in (4, 8]: 4 + 4 * 1/2 = 6
    assert percentile(counts, 0.9) == pytest.approx(6.0)
    # p10: rank 1 of the four in (1, 2]: 1 + 1 * 1/4 = 1.25
    assert percentile(counts, 0.1) == pytest.approx(1.25)
    assert percentile([0] * len(HOUR_BOUNDS), 0.5) is None


def test_a_percentile_in_the_open_last_bucket_is_its_lower_bound():
    counts = [0] * len(HOUR_BOUNDS)
    counts[-1] = 3
    assert percentile(counts, 0.99) == HOUR_BOUNDS[-2]


def test_data_quality_of_an_esp():
    quality = data_quality({"triaged": "8", "informational": "2", "unassigned": "1",
                            "score_sum": "400", "score:4": "6", "score:9": "2",
                            "missing:ipCaptureEvent": "5", "missing:victimDetails": "8",
                            "missing:files": "1", "missing:contactData": "5"})
    assert (quality.triaged, quality.informational_share, quality.unassigned_share) == (
        8, 0.25, 0.125)
    assert quality.mean_actionability == 50.0
    assert quality.actionability_buckets == [0, 0, 0, 0, 6, 0, 0, 0, 0, 2]
    assert quality.most_missing == [("victimDetails", 8, 1.0), ("contactData", 5, 0.625),
                                    ("ipCaptureEvent", 5, 0.625)]


# ---- the gap ----

def _hist(**buckets: int) -> dict[str, str]:
    return {f"ack:{HOUR_BOUNDS.index(float(b.lstrip('h').replace('_', '.')))}": str(n)
            for b, n in buckets.items()}


def test_a_gap_row_counts_open_dark_and_percentiles():
    row = gap_row("a", {"forwarded": "10", "acknowledged": "4", "outcome": "1", "dark": "3",
                        **_hist(h2=2, h4=2)})
    assert (row.open, row.dark, row.no_ack_share) == (6, 3, pytest.approx(0.6))
    assert row.time_to_ack.count == 4 and row.time_to_ack.p50 == pytest.approx(2.0)
    assert gap_row("empty", {}).no_ack_share is None


def test_the_gap_puts_agencies_lanes_and_esps_side_by_side():
    g = gap({"forwarded": "10", "acknowledged": "4", "submitted": "12", "unassigned": "2",
             "offered": "2", "offers_taken": "1"},
            {"a": {"forwarded": "10", "acknowledged": "4"}, "quiet": {}},
            {"p2": {"forwarded": "10"}},
            {"esp-a": {"submitted": "12", "triaged": "12", "informational": "3"}},
            {"no_location_fields": "2"}, open_count=6, oldest_open_hours=30.0, dark=2,
            lost_sight=1, policy=POLICY, agency_kinds={"a": ("icac", "simulator"),
                                                       "quiet": ("icac", "people")})
    assert (g.forwarded, g.unassigned, g.offers.offered, g.offers.taken) == (10, 2, 2, 1)
    assert (g.open.count, g.dark, g.lost_sight) == (6, 2, 1)
    assert [r.name for r in g.by_agency] == ["a"]  # agencies with nothing yet are left out
    assert [r.name for r in g.by_lane] == ["p1", "p2", "p3", "informational"]
    assert g.by_lane[1].sla_hours == 72 and g.by_lane[3].sla_hours is None
    assert g.by_esp[0].informational_share == 0.25
    assert g.unassigned_reasons == {"no_location_fields": 2}


def test_esp_rows_and_histograms_and_series():
    row = esp_row("e", {"submitted": "5", "triaged": "4", "unassigned": "1", "forwarded": "3"})
    assert (row.submitted, row.triaged, row.unassigned_share, row.forwarded) == (5, 4, 0.25, 3)
    [overall, p1, *_] = histograms({"all": _hist(h1=1), "p1": _hist(h0_5=2)}, POLICY)
    assert overall.lane == "all" and sum(overall.counts) == 1
    assert p1.sla_hours == 4 and p1.counts[HOUR_BOUNDS.index(0.5)] == 2 and p1.bounds[-1] is None
    points = series({"submitted": {10: 3}, "newly_dark": {11: 1}}, [10, 11])
    assert [(p.hour, p.submitted, p.newly_dark) for p in points] == [(10, 3, 0), (11, 0, 1)]


# ---- timeline ----

def _f(**stages) -> dict[str, str]:
    return {k.replace("__", ":"): json.dumps(v) for k, v in stages.items()}


def test_timeline_orders_stages_by_time_and_summarises_the_primary_handoff():
    fields = _f(
        acknowledged__a={"at": "2026-01-01T00:00:05+00:00", "afterHours": 4},
        submitted={"at": "2026-01-01T00:00:00+00:00", "lane": "standard", "esp": "e"},
        routed={"at": "2026-01-01T00:00:02+00:00", "agency": "a", "lane": "p2"},
        handoff__a={"at": "2026-01-01T00:00:02+00:00", "why": "jurisdiction"},
        handoff__fed={"at": "2026-01-01T00:00:02+00:00", "why": "federal_nexus"},
        sla_breach_1__fed={"at": "2026-01-01T00:00:04+00:00", "openHours": 80},
        triaged={"at": "2026-01-01T00:00:01+00:00", "priority": 2, "disposition": "referral",
                 "lane": "p2", "reasons": [], "actionability": 70},
    )
    t = timeline(7, fields)
    assert [s.stage for s in t.stages] == ["submitted", "triaged", "routed", "handoff", "handoff",
                                           "sla_breach_1", "acknowledged"]
    assert (t.priority, t.agency, t.acknowledged, t.acknowledged_after_hours) == (2, "a", True, 4)
    assert {h.agency: (h.acknowledged_at is not None, h.dark) for h in t.handoffs} == {
        "a": (True, False), "fed": (False, True)}
    assert t.actionability == 70 and t.unassigned_reasons is None and t.esp == "e"


def test_a_split_group_puts_a_notice_on_each_case_and_its_acknowledgement_beside_it():
    from shared.schemas.events import CaseLink, Deconfliction

    notices = [Deconfliction(report_id=4, agency_id="icac-ga", other_report_id=9,
                             other_agency_id="icac-oh"),
               Deconfliction(report_id=9, agency_id="icac-oh", other_report_id=4,
                             other_agency_id="icac-ga")]
    routed = ReportRouted(report_id=9, producer="router", esp="esp-a", occurred_at=AT,
                          agency_id="icac-oh", why="linked", jurisdiction="unknown",
                          basis="linked to report 2 held by icac-oh", confidence=0.0, priority=2,
                          lane="p2", group=2, group_size=3, deconfliction=notices,
                          links=[CaseLink(report_id=2, agency_id="icac-oh",
                                          bases=["prior-report"])])
    steps = steps_for(routed, POLICY)
    assert [(s.stage, s.report_id) for s in steps if s.kind == "notice"] == [
        ("notice:icac-ga:9", 4), ("notice:icac-oh:4", 9)]
    handoff = next(s for s in steps if s.kind == "handoff")
    assert handoff.why == "linked" and handoff.group_size == 3
    assert {"routed", "routed_by_group", "deconflictions"} <= set(steps[0].counts)
    ack = CaseAcknowledged(report_id=4, producer="agencies", esp="esp-a", agency_id="icac-ga",
                           lane="p2", why="deconfliction", after_hours=2.0, notice=notices[0],
                           occurred_at=AT)
    [acked] = steps_for(ack, POLICY)
    assert (acked.kind, acked.stage, acked.counts) == (
        "notice_ack", "notice_ack:icac-ga:9", ("notices_acknowledged",))
    fields = {s.stage: json.dumps(s.detail) for s in [
        *[s for s in steps if s.kind == "notice" and s.report_id == 4], acked]}
    view = timeline(4, fields)
    assert [(n.agency, n.other_report, n.other_agency, n.acknowledged_at is not None)
            for n in view.notices] == [("icac-ga", 9, "icac-oh", True)]
    assert {s.agency for s in view.stages} == {"icac-ga"}


def test_a_priority_one_case_held_by_its_group_is_breached_twice_and_its_escalation_watched():
    from shared.schemas.events import CaseEscalated

    assert POLICY.breach_levels("p1", "linked") == 2 == POLICY.breach_levels("p1", "jurisdiction")
    assert POLICY.breach_levels("p1", "federal_nexus") == 1
    until = datetime(2027, 6, 1, tzinfo=UTC)
    escalated = CaseEscalated(report_id=3, producer="router", esp="esp-a", occurred_at=AT,
                              from_agency="icac-oh", to_agency="federal-mock-fbi", lane="p1",
                              preserve_until=until)
    handoff = next(s for s in steps_for(escalated, POLICY) if s.kind == "handoff")
    assert handoff.agency_id == "federal-mock-fbi"
    assert handoff.preserve_until == until.timestamp()
    assert handoff.detail["preserveUntil"] == until.isoformat()
