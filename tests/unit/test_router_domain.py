"""Jurisdiction resolution and the routing data's checks, without any broker."""

import json

import pytest

from services.router.domain import (
    NO_LOCATION_FIELDS,
    ONLY_PROXY_IPS,
    UNKNOWN_IP_RANGE,
    RoutingDataError,
    load_ip_table,
    resolve,
)
from shared.directory import load_directory
from shared.schemas.report import Report
from shared.settings import DATA_DIR
from shared.synthetic import synthetic_report

TABLE = load_ip_table(DATA_DIR / "ip_ranges.json")
DIRECTORY = load_directory(DATA_DIR / "agencies.json")


def with_user(**user) -> Report:
    body = synthetic_report("referral")
    body["personOrUserReported"] = {"espIdentifier": "user-1", **user}
    return Report.model_validate(body)


def test_estimated_location_in_a_state_goes_to_its_task_force():
    found = resolve(with_user(estimatedLocation={"region": "New York", "countryCode": "US"}),
                    TABLE, DIRECTORY)
    assert (found.agency.id, found.jurisdiction, found.basis) == ("icac-ny", "US-NY", "estimatedLocation")


def test_a_state_without_a_task_force_goes_to_the_federal_partner():
    found = resolve(with_user(estimatedLocation={"region": "OH", "countryCode": "US"}), TABLE, DIRECTORY)
    assert found.agency.kind == "federal" and found.jurisdiction == "US-OH"


def test_a_country_goes_to_its_liaison_or_the_catch_all():
    gb = resolve(with_user(estimatedLocation={"countryCode": "gb"}), TABLE, DIRECTORY)
    br = resolve(with_user(estimatedLocation={"countryCode": "BR"}), TABLE, DIRECTORY)
    assert gb.agency.id == "intl-mock-gb"
    assert br.agency.id == "intl-mock-catchall" and br.jurisdiction == "BR"


def test_an_ip_address_is_looked_up_in_the_table():
    found = resolve(with_user(ipCaptureEvent=[{"ipAddress": "192.0.2.70"}]), TABLE, DIRECTORY)
    assert (found.agency.id, found.basis) == ("icac-tx", "ipCaptureEvent")


def test_proxy_addresses_are_skipped():
    only_proxy = with_user(ipCaptureEvent=[{"ipAddress": "192.0.2.70", "possibleProxy": True}])
    found = resolve(only_proxy, TABLE, DIRECTORY)
    assert found.agency is None and found.reasons == (ONLY_PROXY_IPS,)


def test_an_unknown_range_is_a_reason():
    found = resolve(with_user(ipCaptureEvent=[{"ipAddress": "203.0.113.250"}]), TABLE, DIRECTORY)
    assert found.agency is None and found.reasons == (UNKNOWN_IP_RANGE,)


def test_no_location_fields_is_a_reason():
    found = resolve(with_user(), TABLE, DIRECTORY)
    assert found.agency is None and found.reasons == (NO_LOCATION_FIELDS,)


def test_estimated_location_is_trusted_before_ip_addresses():
    found = resolve(with_user(estimatedLocation={"region": "FL", "countryCode": "US"},
                              ipCaptureEvent=[{"ipAddress": "192.0.2.10"}]), TABLE, DIRECTORY)
    assert found.agency.id == "icac-fl"


def test_an_address_of_a_victim_is_a_clue():
    body = synthetic_report("referral")
    body["personOrUserReported"] = {"espIdentifier": "u"}
    body["victim"] = [{"victimPerson": {"address": [{"state": "WA", "country": "US"}]}}]
    found = resolve(Report.model_validate(body), TABLE, DIRECTORY)
    assert (found.agency.id, found.basis) == ("icac-wa", "address")


@pytest.mark.parametrize("ranges, message", [
    ([{"cidr": "10.0.0.0/8", "jurisdiction": "US-CA"}], "not a documentation range"),
    ([{"cidr": "192.0.2.0/25", "jurisdiction": "US-CA"},
      {"cidr": "192.0.2.64/26", "jurisdiction": "US-TX"}], "overlaps"),
    ([{"cidr": "nonsense", "jurisdiction": "US-CA"}], "unreadable"),
])
def test_a_bad_ip_table_is_refused_with_a_clear_error(tmp_path, ranges, message):
    path = tmp_path / "ranges.json"
    path.write_text(json.dumps({"ranges": ranges}))
    with pytest.raises(RoutingDataError, match=message):
        load_ip_table(path)
