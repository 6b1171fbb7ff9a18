"""Jurisdiction resolution and the routing data's checks, without any broker."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.router.domain import (
    CONFLICTING_CLUES,
    NO_LOCATION_FIELDS,
    ONLY_PROXY_IPS,
    UNASSIGNED_REASONS,
    UNKNOWN_IP_RANGE,
    US_WITHOUT_STATE,
    GroupRoute,
    RoutingDataError,
    load_ip_table,
    load_zip_table,
    resolve,
    route_with_group,
)
from shared.directory import load_directory
from shared.schemas.report import FiledReport
from shared.settings import DATA_DIR
from tests.report_builder import build, file

TABLE = load_ip_table(DATA_DIR / "ip_ranges.json")
ZIPS = load_zip_table(DATA_DIR / "zip3_states.json")
DIRECTORY = load_directory(DATA_DIR / "agencies.json")
FBI, HSI = "federal-mock-fbi", "federal-mock-hsi"


def report(incident="cp", victims=(), person_address=None, **user) -> FiledReport:
    body = build(incident=incident, user=("id",), location=None, files=(file(),))
    body["personOrUserReported"].update(user)
    if person_address:
        body["personOrUserReported"]["personOrUserReportedPerson"] = {"address": [person_address]}
    if victims:
        body["victim"] = [{"victimPerson": {"address": [a]}} for a in victims]
    return FiledReport.model_validate(body)


def route(r: FiledReport):
    return resolve(r, TABLE, ZIPS, DIRECTORY)


# ---- each link of the chain ----

def test_estimated_location_in_a_state_goes_to_its_task_force():
    found = route(report(estimatedLocation={"region": "Ohio", "countryCode": "US"}))
    assert (found.agency.id, found.jurisdiction, found.basis) == ("icac-oh", "US-OH", "estimatedLocation")
    assert found.confidence == 1.0 and found.reasons == ()


def test_an_ip_address_is_looked_up_in_the_table():
    found = route(report(ipCaptureEvent=[{"ipAddress": "192.0.2.20"}]))  # 192.0.2.16/28: US-TX
    assert (found.jurisdiction, found.basis) == ("US-TX", "ipCaptureEvent")
    assert found.agency.id.startswith("icac-tx-")


def test_an_ip_address_can_point_abroad():
    found = route(report(ipCaptureEvent=[{"ipAddress": "198.51.100.5"}]))  # GB
    assert (found.agency.id, found.jurisdiction) == ("intl-mock-gb", "GB")


def test_a_victims_address_is_a_clue():
    found = route(report(victims=({"state": "Oregon", "country": "US"},)))
    assert (found.agency.id, found.basis) == ("icac-or", "address")


def test_a_reported_persons_zip_code_gives_the_state():
    found = route(report(person_address={"zipCode": "97201"}))
    assert (found.agency.id, found.basis, found.jurisdiction) == ("icac-or", "zipCode", "US-OR")


def test_the_esp_estimate_outweighs_one_ip_address_and_the_conflict_is_recorded():
    found = route(report(estimatedLocation={"region": "WA", "countryCode": "US"},
                         ipCaptureEvent=[{"ipAddress": "192.0.2.20"}]))
    assert found.jurisdiction == "US-WA" and found.conflicts == ("US-TX",)
    assert found.confidence == pytest.approx(0.9 / 1.6, abs=1e-3)


def test_two_ip_addresses_together_outweigh_the_esp_estimate():
    found = route(report(estimatedLocation={"region": "WA", "countryCode": "US"},
                         ipCaptureEvent=[{"ipAddress": "192.0.2.20"}, {"ipAddress": "192.0.2.21"}]))
    assert found.jurisdiction == "US-TX" and found.conflicts == ("US-WA",)


def test_an_even_conflict_is_unassigned():
    found = route(report(ipCaptureEvent=[{"ipAddress": "192.0.2.20"}, {"ipAddress": "198.51.100.5"}]))
    assert found.agency is None and found.reasons == (CONFLICTING_CLUES,)


def test_us_alone_supports_a_state_rather_than_competing():
    found = route(report(estimatedLocation={"countryCode": "US"},
                         ipCaptureEvent=[{"ipAddress": "192.0.2.20"}]))
    assert found.jurisdiction == "US-TX" and found.conflicts == ()


# ---- proxies, unknown ranges, territories ----

def test_proxy_addresses_are_skipped():
    found = route(report(ipCaptureEvent=[{"ipAddress": "192.0.2.20", "possibleProxy": True}]))
    assert found.agency is None and found.reasons == (ONLY_PROXY_IPS,)


def test_a_proxy_beside_a_direct_address_is_ignored():
    found = route(report(ipCaptureEvent=[{"ipAddress": "198.51.100.5", "possibleProxy": True},
                                         {"ipAddress": "192.0.2.20"}]))
    assert found.jurisdiction == "US-TX"


def test_an_unknown_range_is_a_reason():
    found = route(report(ipCaptureEvent=[{"ipAddress": "203.0.113.250"}]))
    assert found.agency is None and found.reasons == (UNKNOWN_IP_RANGE,)


@pytest.mark.parametrize("code, agency", [("PR", "icac-pr"), ("Guam", "icac-gu"),
                                          ("VI", "icac-vi"), ("DC", "icac-dc")])
def test_territories_and_dc_have_their_task_forces(code, agency):
    assert route(report(estimatedLocation={"region": code, "countryCode": "US"})).agency.id == agency


def test_a_puerto_rico_zip_code_goes_to_puerto_rico():
    assert route(report(person_address={"zipCode": "00901"})).agency.id == "icac-pr"


# ---- states with several task forces ----

@pytest.mark.parametrize("zip_code, agency", [
    ("90012", "icac-ca-los-angeles"), ("92101", "icac-ca-san-diego"), ("94103", "icac-ca-bay-area"),
    ("95814", "icac-ca-sacramento"), ("93721", "icac-ca-sacramento"),  # 937: no region claims it
    ("77002", "icac-tx-houston"), ("33101", "icac-fl-south"), ("10001", "icac-ny-city"),
    ("14201", "icac-ny-state"),
])
def test_a_zip_code_picks_the_region(zip_code, agency):
    found = route(report(person_address={"zipCode": zip_code}))
    assert found.agency.id == agency and found.region


def test_a_city_picks_the_region_when_no_zip_code_is_given():
    found = route(report(estimatedLocation={"city": "Houston", "region": "TX", "countryCode": "US"}))
    assert (found.agency.id, found.region) == ("icac-tx-houston", "Houston Metro")


def test_without_a_regional_hint_the_states_default_task_force_takes_it():
    found = route(report(estimatedLocation={"region": "FL", "countryCode": "US"}))
    assert found.agency.id == "icac-fl-north"


# ---- abroad and federal ----

def test_a_country_goes_to_its_liaison_or_the_catch_all():
    assert route(report(estimatedLocation={"countryCode": "JP"})).agency.id == "intl-mock-jp"
    found = route(report(estimatedLocation={"countryCode": "KE"}))
    assert (found.agency.id, found.jurisdiction) == ("intl-mock-catchall", "KE")


def test_sex_trafficking_notifies_the_federal_partner_as_well():
    found = route(report("trafficking", estimatedLocation={"region": "OH", "countryCode": "US"}))
    assert found.agency.id == "icac-oh" and found.also_notify == ((FBI, "federal_nexus"),)


def test_sex_tourism_goes_to_the_hsi_like_partner_as_well():
    found = route(report("tourism", estimatedLocation={"countryCode": "PH"}))
    assert found.agency.id == "intl-mock-ph" and found.also_notify == ((HSI, "federal_nexus"),)


def test_clues_in_several_states_notify_the_federal_partner_as_well():
    found = route(report(estimatedLocation={"region": "OH", "countryCode": "US"},
                         victims=({"state": "MI"},)))
    assert found.agency.id == "icac-oh" and found.also_notify == ((FBI, "multi_state"),)
    assert found.states == ("US-MI", "US-OH")


def test_the_federal_partner_is_notified_once_even_for_two_reasons():
    found = route(report("trafficking", estimatedLocation={"region": "OH", "countryCode": "US"},
                         victims=({"state": "MI"},)))
    assert found.also_notify == ((FBI, "federal_nexus"),)


# ---- every unassigned reason, each offered to the federal partner ----

@pytest.mark.parametrize("user, reason", [
    ({}, NO_LOCATION_FIELDS),
    ({"ipCaptureEvent": [{"ipAddress": "192.0.2.1", "possibleProxy": True}]}, ONLY_PROXY_IPS),
    ({"ipCaptureEvent": [{"ipAddress": "203.0.113.99"}]}, UNKNOWN_IP_RANGE),
    ({"ipCaptureEvent": [{"ipAddress": "192.0.2.20"}, {"ipAddress": "198.51.100.5"}]}, CONFLICTING_CLUES),
    ({"estimatedLocation": {"countryCode": "US"}}, US_WITHOUT_STATE),
])
def test_every_unassigned_reason(user, reason):
    found = route(report(**user))
    assert found.agency is None and reason in found.reasons and found.offered_to == FBI


def test_all_reason_codes_are_covered_by_a_test():
    assert set(UNASSIGNED_REASONS) == {NO_LOCATION_FIELDS, ONLY_PROXY_IPS, UNKNOWN_IP_RANGE,
                                       CONFLICTING_CLUES, US_WITHOUT_STATE}


# ---- the invariant, over generated reports ----

ADDRESSES = ["192.0.2.5", "192.0.2.20", "192.0.2.250", "198.51.100.5", "198.51.100.250",
             "203.0.113.3", "203.0.113.200", "2001:db8:1::5", "2001:db8:ffff::1"]
locations = st.none() | st.fixed_dictionaries(
    {"countryCode": st.sampled_from(["US", "GB", "KE", "JP"])},
    optional={"region": st.sampled_from(["CA", "Texas", "PR", "Nowhere"]),
              "city": st.sampled_from(["Houston", "San Diego", "Springfield"])})
address = st.fixed_dictionaries({}, optional={
    "state": st.sampled_from(["OH", "MI", "California", "XX"]),
    "zipCode": st.sampled_from(["90012", "10001", "00901", "1234", "99999"]),
    "country": st.sampled_from(["US", "DE"])})


@settings(max_examples=400, deadline=None)
@given(
    incident=st.sampled_from(["cp", "trafficking", "tourism", "enticement"]),
    location=locations,
    ips=st.lists(st.tuples(st.sampled_from(ADDRESSES), st.booleans()), max_size=3),
    victims=st.lists(address, max_size=2),
    person=st.none() | address,
)
def test_every_report_has_an_agency_or_reasons_never_both_never_neither(incident, location, ips,
                                                                          victims, person):
    user = {"ipCaptureEvent": [{"ipAddress": a, "possibleProxy": p} for a, p in ips]}
    if location:
        user["estimatedLocation"] = location
    found = route(report(incident, victims=tuple(victims), person_address=person, **user))
    if found.agency is not None:
        assert found.reasons == () and found.offered_to is None
        assert found.agency.kind in ("icac", "international", "federal")
        assert found.basis and 0 < found.confidence <= 1
    else:
        assert found.reasons and set(found.reasons) <= set(UNASSIGNED_REASONS)
        assert found.offered_to == FBI


# ---- the routing data's own checks ----

@pytest.mark.parametrize("ranges, message", [
    ([{"cidr": "10.0.0.0/8", "jurisdiction": "US-CA"}], "not a documentation range"),
    ([{"cidr": "192.0.2.0/25", "jurisdiction": "US-CA"},
      {"cidr": "192.0.2.64/26", "jurisdiction": "US-TX"}], "overlaps"),
    ([{"cidr": "nonsense", "jurisdiction": "US-CA"}], "unreadable"),
    ([{"cidr": "192.0.2.0/28", "jurisdiction": "US-ZZ"}], "unknown US state"),
])
def test_a_bad_ip_table_is_refused_with_a_clear_error(tmp_path, ranges, message):
    path = tmp_path / "ranges.json"
    path.write_text(json.dumps({"ranges": ranges}))
    with pytest.raises(RoutingDataError, match=message):
        load_ip_table(path)


def test_a_bad_zip_table_is_refused(tmp_path):
    path = tmp_path / "zips.json"
    path.write_text(json.dumps({"ranges": [{"from": "000", "to": "009", "state": "ZZ"}]}))
    with pytest.raises(RoutingDataError, match="unknown state code ZZ"):
        load_zip_table(path)


def test_a_report_without_a_jurisdiction_goes_to_the_holder_of_its_groups_earliest_report():
    route = route_with_group(9, None, {"icac-ga": 4, "icac-oh": 2})
    assert (route.target, route.linked_to) == ("icac-oh", 2)
    assert route.basis == "linked to report 2 held by icac-oh"
    # the other holder is told, and so is the holder taking this one
    assert {(n.report_id, n.agency_id, n.other_report_id, n.other_agency_id)
            for n in route.notices} == {(4, "icac-ga", 9, "icac-oh"), (9, "icac-oh", 4, "icac-ga")}


def test_a_jurisdiction_of_its_own_wins_and_every_other_holder_is_deconflicted():
    route = route_with_group(9, "icac-ga", {"icac-ga": 5, "icac-oh": 2, "icac-fl-south": 3})
    assert route.target == "icac-ga" and route.basis is None
    assert sorted((n.report_id, n.agency_id) for n in route.notices) == [
        (2, "icac-oh"), (3, "icac-fl-south"), (9, "icac-ga"), (9, "icac-ga")]
    assert route_with_group(9, "icac-ga", {"icac-ga": 5}).notices == ()  # one agency: no split


def test_nobody_holding_the_group_changes_nothing():
    assert route_with_group(9, None, {}) == GroupRoute(None)
    assert route_with_group(9, "icac-oh", {}) == GroupRoute("icac-oh")
