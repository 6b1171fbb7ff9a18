"""The report model: the public schema's camelCase keys, closed, and validated at the edge."""

import json
import re

import pytest
from pydantic import ValidationError

from shared import bodies
from shared.schemas.events import ActionabilityScore, ReportTriaged, RuleHit
from shared.schemas.facts import RoutingFacts
from shared.schemas.report import FiledReport
from shared.settings import DATA_DIR
from shared.synthetic import KINDS, scenario, synthetic_report


@pytest.mark.parametrize("path", sorted((DATA_DIR / "samples").glob("*.json")), ids=lambda p: p.stem)
def test_every_sample_report_is_valid(path):
    FiledReport.model_validate_json(path.read_bytes())


def test_json_keys_are_the_xml_element_names():
    report = FiledReport.model_validate(synthetic_report("referral", 3))
    dumped = json.loads(report.model_dump_json())
    assert "incidentSummary" in dumped and "personOrUserReported" in dumped
    assert "ipAddress" in dumped["personOrUserReported"]["ipCaptureEvent"][0]
    assert "originalFileHash" in dumped["files"][0]
    assert dumped["files"][0]["originalFileHash"][0]["hashType"] == "MD5"


def test_a_report_survives_the_round_trip_through_its_stored_body():
    for kind in ("escalated", "referral", "informational", "no_location"):
        report = FiledReport.model_validate(synthetic_report(kind, 9))
        body = bodies.encode(report)
        assert bodies.decode(body) == report
        assert b"null" not in body and b"[]" not in body  # defaults are left out


def test_routing_facts_carry_every_location_clue_of_a_report_and_survive_an_event():
    report = FiledReport.model_validate(synthetic_report("referral", 9))
    facts = RoutingFacts.of(report)
    assert facts.person_or_user_reported.ip_capture_event == \
        report.person_or_user_reported.ip_capture_event
    assert [f.original_file_hash for f in facts.files] == [f.original_file_hash
                                                           for f in report.files]
    event = ReportTriaged(report_id=9, producer="t", esp="e", priority=2, disposition="referral",
                          lane="p2", reasons=[RuleHit(rule="r", reason="r")],
                          actionability=ActionabilityScore(score=50, missing=[]), routing=facts)
    assert ReportTriaged.model_validate_json(event.model_dump_json()) == event
    assert len(event.model_dump_json()) < len(bodies.encode(report)) + 600


def test_an_unknown_incident_type_is_refused():
    body = synthetic_report("referral")
    body["incidentSummary"]["incidentType"] = "Parking"
    with pytest.raises(ValidationError) as info:
        FiledReport.model_validate(body)
    assert info.value.errors()[0]["loc"] == ("incidentSummary", "incidentType")


def test_a_file_without_any_hash_is_refused():
    body = synthetic_report("referral")
    body["files"][0]["originalFileHash"] = []
    with pytest.raises(ValidationError):
        FiledReport.model_validate(body)


def test_an_ip_address_must_be_an_address():
    body = synthetic_report("referral")
    body["personOrUserReported"]["ipCaptureEvent"][0]["ipAddress"] = "999.1.1.1"
    with pytest.raises(ValidationError):
        FiledReport.model_validate(body)


def test_supplying_escalate_to_high_priority_escalates():
    assert FiledReport.model_validate(synthetic_report("escalated")).escalated
    assert not FiledReport.model_validate(synthetic_report("referral")).escalated


def test_synthetic_data_stays_in_documentation_ranges_and_example_domains():
    for body in scenario(200) + [synthetic_report(k) for k in KINDS]:
        text = json.dumps(body)
        report = FiledReport.model_validate(body)
        user = report.person_or_user_reported
        for event in user.ip_capture_event:
            assert str(event.ip_address).startswith(("192.0.2.", "198.51.100.", "203.0.113."))
        person = user.person_or_user_reported_person
        for email in (person.email if person else []) + report.reporter.reporting_person.email:
            assert email.value.endswith("example.com")
        assert all(domain.endswith("example.com") for domain in re.findall(r"@([\w.-]+)", text))
