"""The XML form of the report models and the XSD written from them: round trips, the schema
accepting what the models accept, flags in both encodings, safe parsing."""

import enum
import json
import typing
from datetime import date, datetime
from typing import Any

import pytest
import xmlschema
from pydantic import ValidationError
from pydantic_xml import BaseXmlModel

from shared.schemas import xml
from shared.schemas.report import FileDetails, FiledReport, InternetDetails, Report
from shared.schemas.xsd import _Shape, main, report_xsd
from shared.settings import DATA_DIR

SAMPLES = sorted((DATA_DIR / "samples").glob("*.json"))

# Values for the fields whose text has a pattern of its own.
SPECIAL = {"country_calling_code": "+44", "extension": "42", "country_code": "GB",
           "ip_address": "192.0.2.10", "file_id": "0123456789abcdef0123456789abcdef",
           "OriginalFileHash.value": "0123456789abcdef0123456789abcdef", "report_id": 7,
           "prior_ct_reports": 123456}


def every_element(model: type[BaseXmlModel]) -> dict[str, Any]:
    """An instance (in JSON form) of `model` carrying every element and attribute it has: each
    list with one item, each flag true, each value the first of its set."""
    data: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        shape = _Shape(field.annotation, field.metadata)
        value = _value(model, name, shape.item)
        data[field.alias or name] = [value] if shape.repeated else value
    return data


def _value(model: type, name: str, item: Any) -> Any:
    for key in (f"{model.__name__}.{name}", name):
        if key in SPECIAL:
            return SPECIAL[key]
    if isinstance(item, type) and issubclass(item, BaseXmlModel):
        if item is InternetDetails:
            return {"chatImIncident": every_element(InternetDetails.model_fields[
                "chat_im_incident"].annotation.__args__[0])}
        return every_element(item)
    if item is bool:
        return True
    if item is datetime:
        return "2026-01-02T03:04:05Z"
    if item is date:
        return "2012-06-30"
    if isinstance(item, type) and issubclass(item, enum.Enum):
        return next(iter(item)).value
    if typing.get_origin(item) is typing.Literal:
        return typing.get_args(item)[0]
    if item is int:
        return 1
    if item is float:
        return 1.5
    return f"Synthetic {name}"


def internet_details_of_every_kind() -> list[dict[str, Any]]:
    return [{field.alias or name: every_element(_Shape(field.annotation, []).item)}
            for name, field in InternetDetails.model_fields.items()]


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(report_xsd())


def complete_report() -> Report:
    data = every_element(Report)
    data["internetDetails"] = internet_details_of_every_kind()
    data["victim"][0]["estimatedLocation"]["countryCode"] = "US"
    return Report.model_validate(data)


def test_a_report_with_every_element_round_trips_and_the_xsd_accepts_it(schema):
    report = complete_report()
    document = xml.write(report)
    schema.validate(document)
    assert xml.read(document, Report, "report") == report
    # every element of the schema was there: each complex type's children appear in the document
    assert document.count(b"<internetDetails>") == 8
    assert b"<sextortion />" in document and b"<informational />" in document


def test_a_file_details_with_every_element_round_trips_and_the_xsd_accepts_it(schema):
    details = FileDetails.model_validate(every_element(FileDetails))
    document = xml.write(details)
    schema.validate(document)
    assert xml.read(document, FileDetails, "fileDetails") == details


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_every_sample_round_trips_through_xml(path, schema):
    sample = FiledReport.model_validate_json(path.read_bytes())
    document = xml.write(sample)
    back = FiledReport.from_xml_tree(xml.parse_tree(document), context={"xml": True},
                                     empty_as_string=True)
    assert back == sample
    # and the XSD accepts it as the XML API is sent it: the report, then each file's details
    report = Report.model_validate({k: v for k, v in json.loads(path.read_text()).items()
                                    if k != "files"})
    schema.validate(xml.write(report))
    assert xml.read(xml.write(report), Report, "report") == report
    for i, file in enumerate(sample.files):
        named = file.model_copy(update={"report_id": 1, "file_id": f"{i:032x}"})
        schema.validate(xml.write(named))


def test_flags_are_written_present_and_empty_and_read_in_both_encodings():
    report = complete_report()
    document = xml.write(report)
    spelled_out = document.replace(b"<sextortion />", b"<sextortion>true</sextortion>")
    assert spelled_out != document
    assert xml.read(spelled_out, Report, "report") == report
    off = document.replace(b"<sextortion />", b"<sextortion>false</sextortion>")
    assert not xml.read(off, Report, "report").incident_summary.annotations.sextortion
    dropped = document.replace(b"<sextortion />", b"")
    assert not xml.read(dropped, Report, "report").incident_summary.annotations.sextortion


def test_the_xsd_and_the_models_refuse_the_same_mistakes(schema):
    """Each mistake is refused by the XSD (the gate) and by the models on their own."""
    document = xml.write(complete_report())
    mistakes = {
        "order": document.replace(b"<platform>", b"<zzz>").replace(b"</platform>", b"</zzz>"),
        "two kinds": document.replace(
            b"</chatImIncident></internetDetails>",
            b"</chatImIncident><webPageIncident><url>u</url></webPageIncident></internetDetails>",
            1),
        "enum": document.replace(b'accountType="Billing"', b'accountType="Friend"'),
        "range": document.replace(b"<port>1</port>", b"<port>70000</port>"),
        "length": document.replace(b"<platform>Synthetic platform</platform>",
                                   b"<platform>" + b"x" * 257 + b"</platform>"),
        "blank": document.replace(b"<platform>Synthetic platform</platform>",
                                  b"<platform>   </platform>"),
        "flag": document.replace(b"<sextortion />", b"<sextortion>yes</sextortion>"),
    }
    for what, bad in mistakes.items():
        assert bad != document, what
        assert not schema.is_valid(bad), what
        with pytest.raises(ValidationError):  # the models alone, without the XSD
            Report.from_xml_tree(xml.parse_tree(bad), context={"xml": True},
                                 empty_as_string=True)
            pytest.fail(f"the models took the {what} mistake")


def test_an_unknown_empty_element_is_refused_by_the_xsd():
    """The models alone let an unknown element with nothing in it pass (pydantic-xml checks only
    what carries a value); an unknown flag is exactly that, so every document goes through the
    XSD first."""
    document = xml.write(complete_report())
    unknown_flag = document.replace(b"<sextortion />", b"<sextortion /><grooming />")
    Report.from_xml_tree(xml.parse_tree(unknown_flag), context={"xml": True},
                         empty_as_string=True)
    with pytest.raises(xml.InvalidDocument, match="grooming"):
        xml.read(unknown_flag, Report, "report")


def test_the_xsd_module_prints_or_writes_the_schema(tmp_path, capsys):
    target = tmp_path / "report.xsd"
    assert main(["--write", str(target)]) == 0
    assert main([]) == 0 and capsys.readouterr().out == target.read_text()
    assert xmlschema.XMLSchema(target).is_valid(xml.write(complete_report()))
