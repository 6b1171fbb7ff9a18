"""The claim check's stored form: a report's JSON deflated against a dictionary of the schema's
own words; plain JSON still read; anything else refused clearly."""

import json

import pytest

from shared import bodies
from shared.schemas.report import FiledReport
from shared.synthetic import synthetic_report


def reports(n: int) -> list[FiledReport]:
    return [FiledReport.model_validate(synthetic_report(kind, i))
            for i in range(1, n + 1) for kind in ("referral", "informational")]


def test_a_stored_body_reads_back_as_the_same_report_and_is_smaller():
    for report in reports(20):
        plain = report.model_dump_json(exclude_defaults=True).encode()
        stored = bodies.encode(report)
        assert stored[0] == bodies.FORMS.packs_with
        assert bodies.unpack(stored) == plain
        assert bodies.decode(stored) == report
        assert len(stored) < len(plain) * 0.6


def test_a_body_stored_as_plain_json_is_read_as_it_is():
    report = reports(1)[0]
    plain = report.model_dump_json(exclude_defaults=True).encode()
    assert bodies.unpack(plain) == plain
    assert bodies.decode(plain) == report


@pytest.mark.parametrize("stored, says", [
    (b"\x09" + b"x" * 20, "unknown form"),
    (bodies.encode(reports(1)[0])[:-6], "does not inflate"),
    (b"", "unknown form"),
])
def test_a_body_of_another_form_is_refused_clearly(stored, says):
    with pytest.raises(ValueError, match=says):
        bodies.unpack(stored)


def test_the_dictionary_holds_the_schema_s_words_and_nothing_of_a_report():
    words = bodies.FORMS.known[0].dictionary.decode()
    assert '"incidentSummary":' in words and '"espIdentifier":' in words
    for report in reports(5):
        person = json.loads(bodies.unpack(bodies.encode(report))).get("personOrUserReported", {})
        for value in filter(None, [person.get("espIdentifier"), person.get("screenName")]):
            assert value not in words
