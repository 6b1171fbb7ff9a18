"""Triage's first rule set, without any broker."""

from services.triage.domain import triage
from shared.schemas.report import Report
from shared.synthetic import synthetic_report


def report(kind="referral", seed=0, **changes) -> Report:
    body = synthetic_report(kind, seed)
    for path, value in changes.items():
        node = body
        *parents, leaf = path.split("__")
        for p in parents:
            node = node[p]
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return Report.model_validate(body)


def test_escalated_report_is_priority_one():
    decision = triage(report("escalated"))
    assert (decision.priority, decision.lane) == (1, "p1")
    assert "esp_escalation" in [r.rule for r in decision.reasons]


def test_escalation_wins_even_without_actionable_data():
    r = report("escalated", personOrUserReported__estimatedLocation=None, files=None)
    decision = triage(r)
    assert decision.priority == 1 and decision.disposition == "informational"


def test_identifier_content_and_location_make_a_referral():
    decision = triage(report("referral"))
    assert decision.disposition == "referral" and decision.priority in (2, 3)
    assert "actionable" in [r.rule for r in decision.reasons]


def test_a_contact_offence_referral_is_priority_two():
    r = report("referral", incidentSummary__incidentType="Child Sex Trafficking")
    decision = triage(r)
    assert (decision.priority, decision.lane) == (2, "p2")


def test_no_location_means_informational_and_says_what_is_missing():
    decision = triage(report("no_location"))
    assert decision.disposition == "informational" and decision.lane == "informational"
    [miss] = [r for r in decision.reasons if r.rule == "not_actionable"]
    assert "location clue" in miss.reason


def test_viral_content_is_informational():
    decision = triage(report("informational"))
    assert decision.disposition == "informational"
    assert {"viral_content", "esp_marked_informational"} <= {r.rule for r in decision.reasons}


def test_every_decision_names_a_rule_and_is_deterministic():
    for kind in ("escalated", "referral", "informational", "no_location"):
        for seed in range(20):
            r = report(kind, seed)
            first = triage(r)
            assert first.reasons and first == triage(r)
