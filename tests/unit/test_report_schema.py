"""The report model: the public schema's camelCase keys, closed, and validated at the edge."""

import json
import re

import pytest
from pydantic import ValidationError

from shared.schemas.events import ReportSubmitted
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


def test_a_report_survives_the_round_trip_inside_an_event():
    report = FiledReport.model_validate(synthetic_report("escalated", 9))
    event = ReportSubmitted(report_id=9, producer="t", esp="e", lane="escalated", report=report)
    assert ReportSubmitted.model_validate_json(event.model_dump_json()) == event


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
