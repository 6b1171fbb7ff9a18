"""A timeline stage as the ledger stores it: its detail without the fields that say nothing,
deflated against a dictionary of the stages' own words; plain JSON still read; anything else
refused clearly."""

import json
import re

import pytest

from services.tracker.domain import steps_for
from services.tracker.ledger import STAGES, Ledger, stored_detail
from services.triage.domain.rules import RULES
from shared.schemas.events import ActionabilityScore, ReportRouted, ReportTriaged, RuleHit
from shared.schemas.facts import RoutingFacts
from shared.schemas.report import FiledReport
from shared.synthetic import synthetic_report
from tests.unit.test_recording import COMMON, POLICY, RECORDING

REPORT = FiledReport.model_validate(synthetic_report("referral", 3))
TRIAGED = ReportTriaged(
    producer="triage", priority=3, disposition="referral", lane="p3",
    reasons=[RuleHit(rule=RULES[0].name, reason="a user identifier, content and a location clue "
                     "(score 70)"), RuleHit(rule="novel_files", reason="2 file(s) not seen before")],
    actionability=ActionabilityScore(score=70, missing=["estimatedLocation", "victimDetails"]),
    labels=["age:pubescent", "content:lascivious-exhibition", "file:novel"], novel_files=2,
    routing=RoutingFacts.of(REPORT), **COMMON)
ROUTED = ReportRouted(producer="router", agency_id="icac-ny-city", jurisdiction="US-NY",
                      region="New York City", basis="estimatedLocation", confidence=1.0,
                      priority=3, lane="p3", incident_type="Online Enticement of Children for "
                      "Sexual Acts", **COMMON)


def stages_of(*events) -> list:
    return [step for event in events for step in steps_for(event, POLICY)]


def test_an_item_carries_its_groups_as_json_and_its_detail_deflated():
    for step in stages_of(TRIAGED, ROUTED):
        raw = Ledger(RECORDING).encode((7, step))
        head, _, stored = raw.partition(b"\n")
        key, stage, groups = json.loads(head)
        assert (key, stage, groups) == (RECORDING.topology.timeline_key(7), step.stage,
                                        RECORDING.commands(7, step))
        plain = json.dumps(stored_detail(step.detail), separators=(",", ":")).encode()
        assert stored[0] == STAGES.packs_with
        assert json.loads(STAGES.unpack(stored)) == json.loads(plain)
        assert len(stored) < len(plain) * 0.6, step.stage


def test_fields_that_say_nothing_are_left_out():
    routed = next(s for s in stages_of(ROUTED) if s.stage == "routed")
    assert routed.detail["lawEnforcement"] is None and routed.detail["links"] == []
    kept = stored_detail(routed.detail)
    assert "lawEnforcement" not in kept and "links" not in kept and "deconfliction" not in kept
    assert kept["confidence"] == 1.0 and kept["agency"] == "icac-ny-city"


def test_a_stage_stored_as_plain_json_is_read_as_it_is():
    plain = b'{"at":"2027-01-15T08:00:00+00:00","lane":"standard"}'
    assert STAGES.unpack(plain) == plain


@pytest.mark.parametrize("stored, says", [
    (b"\x07" + b"x" * 20, "unknown form"),
    (STAGES.pack(b'{"lane":"p1","why":"jurisdiction"}')[:-3], "does not inflate"),
    (b"", "unknown form"),
])
def test_a_stage_of_another_form_is_refused_clearly(stored, says):
    with pytest.raises(ValueError, match=f"a stored stage .*{says}"):
        STAGES.unpack(stored)


def test_the_dictionary_holds_the_stages_words_and_nothing_of_a_report():
    words = STAGES.known[0].dictionary.decode()
    for word in ('"disposition":', '"incidentType":', '"esp_escalation"', '"icac-ny-city"',
                 '"New York City"', '"US-NY"', "file(s) not seen before"):
        assert word in words
    assert not re.search(r"\d{3,}", words)  # no report id, time or score
    assert '"esp-a"' not in words and '"bench"' not in words  # no ESP's name
