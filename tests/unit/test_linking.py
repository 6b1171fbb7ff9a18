"""Linking's rules: each basis with its normalisation, the keyed hashes, and groups that do not
depend on the order the reports arrive in."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.linking import (
    Clue,
    Linker,
    clues,
    group_reports,
    keyed,
    related,
    sightings,
)
from shared.schemas.report import FiledReport, Report
from tests.report_builder import build, file

WINDOW = 3600.0
KEY = b"test-linking-key"


def report(*, email: dict | None = None, phone: dict | None = None, account: tuple | None = None,
           devices: tuple = (), ips: tuple = (), prior: tuple = (), victim_prior: tuple = (),
           files: tuple = ()) -> Report:
    body: dict[str, Any] = build(files=files)
    suspect: dict[str, Any] = {}
    person: dict[str, Any] = {}
    if email:
        person["email"] = [email]
    if phone:
        person["phone"] = [phone]
    if person:
        suspect["personOrUserReportedPerson"] = person
    if account:
        suspect["espService"], suspect["espIdentifier"] = account
    if devices:
        suspect["deviceId"] = [{"idType": t, "idValue": v} for t, v in devices]
    if ips:
        suspect["ipCaptureEvent"] = [
            {"ipAddress": ip, "dateTime": at, **({"possibleProxy": True} if proxy else {})}
            for ip, at, proxy in ips]
    if prior:
        suspect["priorCTReports"] = list(prior)
    body["personOrUserReported"] = suspect
    if victim_prior:
        body["victim"] = [{"victimPerson": {"firstName": "Synthetic"}, "priorCTReports": list(victim_prior)}]
    return FiledReport.model_validate(body)


def bases(a: Report, b: Report, ids: tuple[int, int] = (1, 2)) -> set[str]:
    return set(related((ids[0], a), (ids[1], b), WINDOW))


def test_a_verified_email_links_whatever_its_case_and_spaces_and_an_unverified_one_does_not():
    a = report(email={"value": " Offender@Example.COM ", "verified": True})
    b = report(email={"value": "offender@example.com", "verified": True})
    unverified = report(email={"value": "offender@example.com"})
    assert bases(a, b) == {"email"}
    assert bases(a, unverified) == set()


def test_a_verified_phone_links_in_any_of_its_formats():
    forms = [{"value": "+1 (555) 010-0100"}, {"value": "555-010-0100", "countryCallingCode": "+1"},
             {"value": "1 555 010 0100", "countryCallingCode": "+1"}]
    numbers = {c.value for f in forms for c in clues(report(phone={**f, "verified": True}))}
    assert numbers == {"15550100100"}
    other_country = report(phone={"value": "555-010-0100", "countryCallingCode": "+44",
                                  "verified": True})
    assert bases(report(phone={**forms[0], "verified": True}), other_country) == set()
    assert clues(report(phone={"value": "0100", "verified": True})) == []  # names nobody


def test_an_esp_account_links_only_with_its_service():
    a = report(account=("Synthetic Chat", "User_42"))
    assert bases(a, report(account=("synthetic chat", "user_42"))) == {"esp-account"}
    assert bases(a, report(account=("Another Service", "User_42"))) == set()


def test_a_device_id_links_without_its_separators():
    a = report(devices=(("MAC", "AA:BB:CC:DD:EE:FF"),))
    assert bases(a, report(devices=(("mac", "aa-bb-cc-dd-ee-ff"),))) == {"device"}
    assert bases(a, report(devices=(("IMEI", "AA:BB:CC:DD:EE:FF"),))) == set()


def test_an_ip_address_links_within_the_window_unless_a_possible_proxy():
    a = report(ips=(("203.0.113.7", "2026-02-01T10:00:00Z", False),))
    near = report(ips=(("203.0.113.7", "2026-02-01T10:59:00Z", False),))
    far = report(ips=(("203.0.113.7", "2026-02-01T12:00:00Z", False),))
    proxy = report(ips=(("203.0.113.7", "2026-02-01T10:01:00Z", True),))
    assert bases(a, near) == {"ip"}
    assert bases(a, far) == set() and bases(a, proxy) == set()
    assert sightings(proxy) == []
    v6 = report(ips=(("2001:DB8:0:0:0:0:0:1", "2026-02-01T10:00:00Z", False),))
    assert bases(v6, report(ips=(("2001:db8::1", "2026-02-01T10:30:00Z", False),))) == {"ip"}


def test_prior_reports_link_explicitly_also_through_a_victim():
    assert bases(report(), report(prior=(1,))) == {"prior-report"}
    assert bases(report(victim_prior=(2,)), report()) == {"prior-report"}


def test_a_shared_viral_file_alone_links_nothing():
    meme = file(seed="viral-meme", potentialMeme=True, viral=True)
    assert bases(report(files=(meme,)), report(files=(meme,))) == set()


def test_identifiers_are_stored_as_keyed_hashes_never_in_clear():
    clue = Clue("email", "offender@example.com")
    stored = keyed(KEY, clue)
    assert "offender" not in stored and "example" not in stored and len(stored) == 32
    assert stored == keyed(KEY, Clue("email", "offender@example.com"))
    assert stored != keyed(b"another-key", clue) and stored != keyed(KEY, Clue("phone", clue.value))


def test_a_report_added_again_adds_no_link():
    linker = Linker(KEY, WINDOW)
    a, b = report(account=("svc", "u1")), report(account=("svc", "u1"))
    assert linker.add(1, a) == []
    [link] = linker.add(2, b)
    assert (link.a, link.b, link.basis) == (1, 2, "esp-account")
    assert linker.add(2, b) == [link]  # found again, the same link: nothing new
    assert linker.groups.groups() == {frozenset({1, 2})}


# A small pool of identifiers, so that random reports share some: the property is about how the
# groups come out of many overlapping links.
ACCOUNTS = st.sampled_from([None, ("svc", "a"), ("svc", "b"), ("other", "a")])
EMAILS = st.sampled_from([None, "x@example.com", "y@example.com"])
IPS = st.sampled_from([None, ("203.0.113.1", "2026-02-01T10:00:00Z", False),
                       ("203.0.113.1", "2026-02-01T10:40:00Z", False),
                       ("203.0.113.1", "2026-02-01T11:30:00Z", False),
                       ("203.0.113.1", "2026-02-01T10:10:00Z", True)])


@st.composite
def report_sets(draw: Any) -> list[tuple[int, Report]]:
    n = draw(st.integers(2, 8))
    made = []
    for report_id in range(1, n + 1):
        email, ip = draw(EMAILS), draw(IPS)
        prior = draw(st.lists(st.integers(1, n + 2), max_size=1))
        made.append((report_id, report(
            account=draw(ACCOUNTS), email={"value": email, "verified": True} if email else None,
            ips=(ip,) if ip else (), prior=tuple(p for p in prior if p != report_id))))
    return made


@settings(max_examples=60, deadline=None)
@given(reports=report_sets(), order=st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_groups(reports, order):
    expected = group_reports(reports, WINDOW)
    shuffled = list(reports)
    order.shuffle(shuffled)
    linker = Linker(KEY, WINDOW)
    for report_id, r in shuffled:
        linker.add(report_id, r)
    assert linker.groups.groups() == expected
