"""What recording each ledger step moves, as plain values: the guarded groups of Redis commands of
services/tracker/recording.py, read without any Redis."""

from datetime import UTC, datetime

from services.tracker.domain import Policy, steps_for
from services.tracker.recording import Recording, case_member, parse_case, queue_score
from shared.schemas.events import (
    ActionabilityScore,
    CaseAcknowledged,
    CaseOutcomeReported,
    ReportRouted,
    ReportSubmitted,
    ReportTriaged,
    ReportUnassigned,
    RuleHit,
    SlaBreached,
)
from shared.schemas.facts import RoutingFacts
from shared.schemas.report import FiledReport
from shared.synthetic import synthetic_report
from shared.topology import Topology

T = Topology("unit")
HOUR = 10.0  # wall seconds per simulated hour
POLICY = Policy(sla_hours={"p1": 4, "p2": 72, "p3": 720, "informational": None},
                seconds_per_hour=HOUR, lost_sight_days=30)
RECORDING = Recording(T, HOUR, series_ttl_s=600, at_risk_s=30 * 24 * HOUR)
AT = datetime(2027, 1, 15, 8, tzinfo=UTC)
AT_S = AT.timestamp()
COMMON = dict(report_id=7, esp="esp-a", occurred_at=AT)


def groups_of(event) -> list[list]:
    """Every step's groups of one event, in order."""
    return [g for step in steps_for(event, POLICY) for g in RECORDING.commands(7, step)]


def unguarded(groups: list[list]) -> list[list]:
    return [command for group in groups if group[0] == [] for command in group[1:]]


def guarded(groups: list[list], condition: list) -> list[list]:
    return [command for group in groups if group[0] == condition for command in group[1:]]


def test_a_case_member_names_its_report_and_agency():
    assert case_member(7, "icac-wa") == "7:icac-wa"
    assert parse_case(b"7:icac-wa") == (7, "icac-wa")


def test_a_submitted_report_counts_once_and_names_its_esp():
    groups = groups_of(ReportSubmitted(producer="intake", lane="escalated", **COMMON))
    hour = int(AT_S // HOUR)
    assert unguarded(groups) == [
        ["HINCRBY", T.gap_totals, "submitted", 1], ["HINCRBY", T.gap_by_esp("esp-a"), "submitted", 1],
        ["SADD", T.gap_esps, "esp-a"],
        ["HINCRBY", T.gap_series("submitted", hour // 24), hour, 1],
        ["EXPIRE", T.gap_series("submitted", hour // 24), 600]]


def test_a_handoff_opens_the_case_and_watches_it_unless_already_acknowledged():
    routed = ReportRouted(producer="router", agency_id="icac-wa", jurisdiction="US-WA",
                          basis="estimatedLocation", confidence=1.0, priority=2, lane="p2",
                          files_needing_legal_process=2, **COMMON)
    groups = groups_of(routed)
    assert ["HINCRBY", T.gap_by_agency("icac-wa"), "forwarded", 1] in unguarded(groups)
    assert ["HINCRBY", T.gap_by_lane("p2"), "files_needing_legal_process", 2] in unguarded(groups)
    assert ["HINCRBY", T.gap_totals, "routed", 1] in unguarded(groups)
    day = int(AT_S // (24 * HOUR))  # no preservation date: the queue orders by the handoff's day
    assert guarded(groups, ["absent", T.timeline_key(7), "acknowledged:icac-wa"]) == [
        ["ZADD", T.gap_open, AT_S, "7:icac-wa"], ["ZADD", T.agency_open("icac-wa"), AT_S, 7],
        ["ZADD", T.sla_watch, AT_S + 72 * HOUR, "7:icac-wa"],
        ["ZADD", T.agency_queue("icac-wa"), queue_score(2, day, 1), 7]]


def test_a_handoff_watches_the_preservation_until_acknowledged():
    until = datetime.fromtimestamp(AT_S + 365 * 24 * HOUR, UTC)
    routed = ReportRouted(producer="router", agency_id="icac-wa", jurisdiction="US-WA",
                          basis="estimatedLocation", confidence=1.0, priority=1, lane="p1",
                          preserve_until=until, group_size=3, **COMMON)
    groups = groups_of(routed)
    opened = guarded(groups, ["absent", T.timeline_key(7), "acknowledged:icac-wa"])
    u = until.timestamp()
    assert ["ZADD", T.preservation_watch, u, "7:icac-wa"] in opened
    assert ["ZADD", T.preservation_warn, u - RECORDING.at_risk_s, "7:icac-wa"] in opened
    assert ["ZADD", T.agency_queue("icac-wa"), queue_score(1, int(u // (24 * HOUR)), 3), 7] in opened
    ack = CaseAcknowledged(producer="agencies", agency_id="icac-wa", lane="p1",
                           why="jurisdiction", after_hours=3.0, **COMMON)
    closed = unguarded(groups_of(ack))
    for command in (["ZREM", T.preservation_watch, "7:icac-wa"],
                    ["ZREM", T.preservation_warn, "7:icac-wa"],
                    ["ZREM", T.agency_queue("icac-wa"), 7]):
        assert command in closed


def test_the_queue_orders_by_priority_then_preservation_day_then_larger_groups():
    assert queue_score(1, 900, 1) < queue_score(2, 10, 50)
    assert queue_score(2, 10, 1) < queue_score(2, 11, 50)
    assert queue_score(2, 10, 5) < queue_score(2, 10, 2)


def test_a_handoff_in_a_lane_without_an_sla_is_not_watched():
    routed = ReportRouted(producer="router", agency_id="icac-wa", jurisdiction="US-WA",
                          basis="estimatedLocation", confidence=1.0, priority=3,
                          lane="informational", **COMMON)
    opened = guarded(groups_of(routed), ["absent", T.timeline_key(7), "acknowledged:icac-wa"])
    assert [c[1] for c in opened] == [T.gap_open, T.agency_open("icac-wa"),
                                      T.agency_queue("icac-wa")]


def test_an_acknowledgement_closes_the_case_and_undarkens_it_only_if_it_was_dark():
    ack = CaseAcknowledged(producer="agencies", agency_id="icac-wa", lane="p2",
                           why="jurisdiction", after_hours=3.0, **COMMON)
    groups = groups_of(ack)
    plain = unguarded(groups)
    assert ["HINCRBY", T.gap_by_agency("icac-wa"), "ack:4", 1] in plain  # 3 h: bucket (2, 4]
    assert ["ZREM", T.gap_open, "7:icac-wa"] in plain
    assert ["ZADD", T.agency_acknowledged("icac-wa"), AT_S - 3 * HOUR, 7] in plain
    assert ["HDEL", T.sla_levels, "7:icac-wa"] in plain
    dark = guarded(groups, ["removed", T.gap_dark, "7:icac-wa"])
    assert ["HINCRBY", T.gap_totals, "dark", -1] in dark and len(dark) == 4  # every dimension
    assert guarded(groups, ["absent", T.timeline_key(7), "outcome:icac-wa"]) == [
        ["ZADD", T.gap_awaiting_outcome, AT_S, "7:icac-wa"]]


def test_an_outcome_ends_the_wait_for_it():
    outcome = CaseOutcomeReported(producer="agencies", agency_id="icac-wa", lane="p2",
                                  why="jurisdiction", outcome="arrest made", after_hours=30.0,
                                  **COMMON)
    plain = unguarded(groups_of(outcome))
    assert ["ZREM", T.gap_awaiting_outcome, "7:icac-wa"] in plain
    assert ["HINCRBY", T.gap_totals, "out:8", 1] in plain  # 30 h: the bucket (24, 48]


def test_a_first_breach_darkens_a_case_still_unacknowledged_and_a_second_does_not_again():
    first = SlaBreached(producer="tracker", agency_id="icac-wa", lane="p1", priority=1,
                        why="jurisdiction", jurisdiction="US-WA", incident_type="x", level=1,
                        open_hours=5.0, **COMMON)
    groups = groups_of(first)
    dark = guarded(groups, ["absent", T.timeline_key(7), "acknowledged:icac-wa"])
    assert dark[0] == ["ZADD", T.gap_dark, AT_S - 5 * HOUR, "7:icac-wa"]
    assert ["HINCRBY", T.gap_by_lane("p1"), "dark", 1] in dark
    second = groups_of(first.model_copy(update={"level": 2}))
    assert guarded(second, ["absent", T.timeline_key(7), "acknowledged:icac-wa"]) == []
    assert ["HINCRBY", T.gap_totals, "sla_breaches", 1] in unguarded(second)


def test_an_unassigned_report_counts_its_reasons_and_the_offer():
    unassigned = ReportUnassigned(producer="router", reasons=["only_proxy_ips", "us_without_state"],
                                  offered_to="federal-mock-fbi", priority=3, lane="p3", **COMMON)
    plain = unguarded(groups_of(unassigned))
    assert ["HINCRBY", T.gap_reasons, "only_proxy_ips", 1] in plain
    assert ["HINCRBY", T.gap_reasons, "us_without_state", 1] in plain
    assert ["HINCRBY", T.gap_by_agency("federal-mock-fbi"), "offered", 1] in plain


def test_a_triaged_report_tells_its_esps_data_quality():
    report = FiledReport.model_validate(synthetic_report("referral", "quality"))
    triaged = ReportTriaged(producer="triage", priority=2, disposition="referral", lane="p2",
                            reasons=[RuleHit(rule="r", reason="r")],
                            actionability=ActionabilityScore(score=45, missing=["victim", "ip"]),
                            routing=RoutingFacts.of(report), **COMMON)
    plain = unguarded(groups_of(triaged))
    esp = T.gap_by_esp("esp-a")
    assert ["HINCRBY", esp, "score:4", 1] in plain and ["HINCRBY", esp, "score_sum", 45] in plain
    assert ["HINCRBY", esp, "missing:victim", 1] in plain and ["SADD", T.gap_esps, "esp-a"] in plain


def test_an_item_carries_the_timeline_field_and_its_groups():
    submitted = ReportSubmitted(producer="intake", lane="standard", **COMMON)
    [step] = steps_for(submitted, POLICY)
    key, stage, detail, groups = RECORDING.item(7, step)
    assert (key, stage) == (T.timeline_key(7), "submitted")
    assert detail == {"at": AT.isoformat(), "lane": "standard", "esp": "esp-a"}
    assert groups == RECORDING.commands(7, step)
