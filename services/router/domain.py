"""Jurisdiction resolution: from the clues in a report to agencies, or to 'unassigned' with reasons.

The chain, most trusted clue first, each clue with a confidence:
  estimatedLocation (the ESP's estimate)   state 0.9, country 0.8, "US" alone 0.3
  a victim's or intended recipient's estimatedLocation   the same, times 0.9
  address of the reported person, a victim, an intended recipient or an associated account
  with a state   0.8 (a country alone 0.6)
  ZIP code of such an address -> state (zip3 table)          0.75
  ipCaptureEvent address -> synthetic IP table, proxies skipped   0.7 each
Conflicts: the confidences of clues naming the same jurisdiction add up; the largest sum wins and
the others are recorded as conflicts. A tie between different jurisdictions cannot be decided:
the report is unassigned with `conflicting_clues`. A clue of "US" alone supports any state.
"""

import bisect
import ipaddress
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from shared.directory import Agency, Directory
from shared.geo import US_JURISDICTIONS, is_country_code, state_code
from shared.schemas.events import CaseReason, Deconfliction
from shared.schemas.facts import RoutingFacts
from shared.schemas.report import Address, EstimatedLocation, FiledReport

ReportClues = FiledReport | RoutingFacts

DOCUMENTATION_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32",
))

# Unassigned reason codes.
NO_LOCATION_FIELDS = "no_location_fields"
ONLY_PROXY_IPS = "only_proxy_ips"
UNKNOWN_IP_RANGE = "unknown_ip_range"
CONFLICTING_CLUES = "conflicting_clues"
US_WITHOUT_STATE = "us_without_state"
UNASSIGNED_REASONS = (NO_LOCATION_FIELDS, ONLY_PROXY_IPS, UNKNOWN_IP_RANGE, CONFLICTING_CLUES,
                      US_WITHOUT_STATE)

OTHERS_ESTIMATE = 0.9  # a victim's or intended recipient's estimated place, against the user's

CONFIDENCE = {
    "estimatedLocation:state": 0.9, "estimatedLocation:country": 0.8, "estimatedLocation:us": 0.3,
    "address:state": 0.8, "address:country": 0.6, "zipCode": 0.75, "ipCaptureEvent": 0.7,
}


class RoutingDataError(ValueError):
    pass


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class IpTable:
    ranges: tuple[tuple[Network, str], ...]

    def __post_init__(self) -> None:
        # Ranges do not overlap: sorted by first address, a lookup is one bisection.
        spans = sorted((n.version, int(n.network_address), int(n.broadcast_address), j)
                       for n, j in self.ranges)
        object.__setattr__(self, "_starts", [(v, lo) for v, lo, _, _ in spans])
        object.__setattr__(self, "_spans", spans)

    def lookup(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        key = (address.version, int(address))
        i = bisect.bisect_right(self._starts, key) - 1  # type: ignore[attr-defined]
        if i < 0:
            return None
        version, _, last, jurisdiction = self._spans[i]  # type: ignore[attr-defined]
        return jurisdiction if version == address.version and int(address) <= last else None


def _check_jurisdiction(value: str, where: str) -> str:
    if value.startswith("US-") and value[3:] not in US_JURISDICTIONS:
        raise RoutingDataError(f"{where}: unknown US state or territory code {value}")
    if not (value.startswith("US-") or value == "US" or (len(value) == 2 and value.isupper())):
        raise RoutingDataError(f"{where}: not a jurisdiction: {value}")
    return value


def load_ip_table(path: Path) -> IpTable:
    """Read the synthetic IP table: documentation ranges only, known codes, no overlaps."""
    try:
        rows = json.loads(Path(path).read_text())["ranges"]
        ranges = [(ipaddress.ip_network(r["cidr"]), str(r["jurisdiction"])) for r in rows]
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise RoutingDataError(f"IP table {path} is unreadable: {exc}") from exc
    for network, jurisdiction in ranges:
        _check_jurisdiction(jurisdiction, f"IP table {path}")
        if not any(network.version == d.version and network.subnet_of(d)  # type: ignore[arg-type]
                   for d in DOCUMENTATION_NETWORKS):
            raise RoutingDataError(f"IP table {path}: {network} is not a documentation range")
    for i, (a, _) in enumerate(ranges):
        for b, _ in ranges[i + 1:]:
            if a.version == b.version and a.overlaps(b):  # type: ignore[arg-type]
                raise RoutingDataError(f"IP table {path}: {a} overlaps {b}")
    return IpTable(tuple(ranges))


@dataclass(frozen=True)
class ZipTable:
    ranges: tuple[tuple[int, int, str], ...]

    def state(self, zip_code: str | None) -> str | None:
        digits = "".join(c for c in (zip_code or "") if c.isdigit())
        if len(digits) < 5:
            return None
        prefix = int(digits[:3])
        for low, high, state in self.ranges:
            if low <= prefix <= high:
                return state
        return None


def load_zip_table(path: Path) -> ZipTable:
    try:
        rows = json.loads(Path(path).read_text())["ranges"]
        ranges = [(int(r["from"]), int(r["to"]), str(r["state"])) for r in rows]
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise RoutingDataError(f"ZIP table {path} is unreadable: {exc}") from exc
    for low, high, state in ranges:
        if state not in US_JURISDICTIONS:
            raise RoutingDataError(f"ZIP table {path}: unknown state code {state}")
        if low > high:
            raise RoutingDataError(f"ZIP table {path}: range {low}-{high} is backwards")
    return ZipTable(tuple(ranges))


@dataclass(frozen=True)
class Clue:
    basis: str
    jurisdiction: str
    confidence: float
    city: str | None = None
    zip3: str | None = None


def country_code(value: str | None) -> str | None:
    """A country as the schema may write it: a two-letter code, or the United States by name."""
    if not value:
        return None
    text = value.strip().upper()
    if text in ("USA", "UNITED STATES", "UNITED STATES OF AMERICA", "U.S.", "U.S.A."):
        return "US"
    return text if is_country_code(text) else None


def _address_clues(address: Address, zips: ZipTable, basis: str = "address") -> list[Clue]:
    zip3 = (address.zip_code or "").strip()[:3] or None
    code = state_code(address.state)
    country = country_code(address.country)
    if code and country in (None, "US"):
        return [Clue(basis, f"US-{code}", CONFIDENCE["address:state"], address.city, zip3)]
    by_zip = zips.state(address.zip_code) if country in (None, "US") else None
    if by_zip:
        return [Clue("zipCode", f"US-{by_zip}", CONFIDENCE["zipCode"], address.city, zip3)]
    if country and country != "US":
        return [Clue(basis, country, CONFIDENCE["address:country"], address.city)]
    return []


def _estimate_clue(location: EstimatedLocation | None, basis: str, weight: float) -> list[Clue]:
    """The ESP's estimate of where someone is: a state, a country, or the US alone. `weight`
    scales the confidence (an estimate of a victim's or recipient's place counts a little less
    than the reported user's)."""
    if location is None:
        return []
    country = country_code(location.country_code)
    code = state_code(location.region)
    if country in (None, "US") and code:
        return [Clue(basis, f"US-{code}", CONFIDENCE["estimatedLocation:state"] * weight,
                     location.city)]
    if country == "US":
        return [Clue(basis, "US", CONFIDENCE["estimatedLocation:us"] * weight, location.city)]
    if country:
        return [Clue(basis, country, CONFIDENCE["estimatedLocation:country"] * weight,
                     location.city)]
    return []


def clues(report: ReportClues, ip_table: IpTable, zips: ZipTable) -> tuple[list[Clue], list[str]]:
    """Every usable clue, most trusted first, and why the unusable ones were not used."""
    found: list[Clue] = []
    problems: list[str] = []
    p = report.person_or_user_reported
    found += _estimate_clue(p.estimated_location if p else None, "estimatedLocation", 1.0)
    for victim in report.victim:
        found += _estimate_clue(victim.estimated_location, "victim:estimatedLocation",
                                OTHERS_ESTIMATE)
    for recipient in report.intended_recipient:
        found += _estimate_clue(recipient.estimated_location, "recipient:estimatedLocation",
                                OTHERS_ESTIMATE)
    people = [p.person_or_user_reported_person if p else None]
    people += [v.victim_person for v in report.victim]
    people += [r.intended_recipient_person for r in report.intended_recipient]
    for person in filter(None, people):
        for address in person.address:
            found += _address_clues(address, zips)
    accounts = [*(p.associated_account if p else []),
                *[a for v in report.victim for a in v.associated_account]]
    for account in accounts:
        for address in account.address:
            found += _address_clues(address, zips, "associatedAccount:address")
    if p and p.ip_capture_event:
        direct = [e for e in p.ip_capture_event if not e.possible_proxy]
        if not direct:
            problems.append(ONLY_PROXY_IPS)
        for event in direct:
            where = ip_table.lookup(ipaddress.ip_address(event.ip_address))
            if where:
                found.append(Clue("ipCaptureEvent", where, CONFIDENCE["ipCaptureEvent"]))
            elif UNKNOWN_IP_RANGE not in problems:
                problems.append(UNKNOWN_IP_RANGE)
    if not found and not problems:
        problems.append(NO_LOCATION_FIELDS)
    return found, problems


@dataclass(frozen=True)
class Resolution:
    """Either an agency (local or international) with its basis, or reasons; never both."""

    agency: Agency | None
    jurisdiction: str | None = None
    region: str | None = None
    basis: str | None = None
    confidence: float = 0.0
    conflicts: tuple[str, ...] = ()
    also_notify: tuple[tuple[str, CaseReason], ...] = ()
    reasons: tuple[str, ...] = ()
    offered_to: str | None = None
    states: tuple[str, ...] = field(default=())


def _weigh(found: list[Clue]) -> list[tuple[str, float]]:
    totals: dict[str, float] = defaultdict(float)
    for clue in found:
        totals[clue.jurisdiction] += clue.confidence
    states = [j for j in totals if j.startswith("US-")]
    if "US" in totals and states:
        # "US" alone supports whichever state is named; it never competes with one.
        support = totals.pop("US")
        for j in states:
            totals[j] += support / len(states)
    return sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))


def pick_agency(jurisdiction: str, found: list[Clue], directory: Directory) -> tuple[Agency, str | None]:
    """The agency for a jurisdiction: by region where a state has several task forces (ZIP prefix,
    then city), a state without one goes federal, a country without a liaison to the catch-all."""
    holders = directory.for_jurisdiction(jurisdiction)
    if len(holders) == 1:
        return holders[0], None
    if holders:
        hints = [c for c in found if c.jurisdiction == jurisdiction]
        for agency in holders:
            region = agency.region
            if region and any(c.zip3 and c.zip3 in region.zip3 for c in hints):
                return agency, region.name
        for agency in holders:
            region = agency.region
            cities = {c.lower() for c in region.cities} if region else set()
            if any(c.city and c.city.lower() in cities for c in hints):
                return agency, region.name if region else None
        default = next(a for a in holders if a.region and a.region.default)
        return default, default.region.name if default.region else None
    if jurisdiction.startswith("US"):
        return directory.by_id(directory.federal.default), None
    return directory.for_jurisdiction("INTL")[0], None


def resolve(report: ReportClues, ip_table: IpTable, zips: ZipTable, directory: Directory) -> Resolution:
    """Where the report goes and why, or why it cannot go anywhere (then offered to the federal
    partner)."""
    found, problems = clues(report, ip_table, zips)
    federal = directory.federal.default
    ranked = _weigh(found)
    if not ranked:
        return Resolution(None, reasons=tuple(problems), offered_to=federal)
    if ranked == [("US", ranked[0][1])]:
        return Resolution(None, reasons=(US_WITHOUT_STATE, *problems), offered_to=federal)
    (top, weight), rest = ranked[0], ranked[1:]
    if rest and rest[0][1] == weight:
        return Resolution(None, reasons=(CONFLICTING_CLUES, *problems), offered_to=federal)
    agency, region = pick_agency(top, found, directory)
    states = tuple(sorted({j for j, _ in ranked if j.startswith("US-")}))
    also: list[tuple[str, CaseReason]] = []
    nexus = directory.federal.by_incident.get(report.incident_summary.incident_type.value)
    if nexus and nexus != agency.id:
        also.append((nexus, "federal_nexus"))
    if len(states) > 1 and federal != agency.id and federal not in [a for a, _ in also]:
        also.append((federal, "multi_state"))
    basis = next(c.basis for c in found if c.jurisdiction == top)
    total = sum(w for _, w in ranked)
    return Resolution(
        agency, jurisdiction=top, region=region, basis=basis, confidence=round(weight / total, 3),
        conflicts=tuple(j for j, _ in rest), also_notify=tuple(also), states=states,
    )


@dataclass(frozen=True)
class GroupRoute:
    """What a report's link group changes of where it goes: `target` receives its case (its own
    jurisdiction's agency, or else the agency holding its group, then with `basis`), and every
    other agency holding a case of the group is in a deconfliction with it, both told."""

    target: str | None
    basis: str | None = None
    linked_to: int | None = None
    notices: tuple[Deconfliction, ...] = ()


def route_with_group(report_id: int, own_agency: str | None, holders: Mapping[str, int]
                     ) -> GroupRoute:
    """`holders`: each agency holding a case of the report's group -> its earliest report there.
    A report without a jurisdiction of its own goes to the agency holding the group's earliest
    report; linked cases at different agencies are each told of the other."""
    ordered = sorted(holders.items(), key=lambda held: (held[1], held[0]))
    target, basis, linked_to = own_agency, None, None
    if target is None and ordered:
        target, linked_to = ordered[0]
        basis = f"linked to report {linked_to} held by {target}"
    notices: list[Deconfliction] = []
    for agency, held in ordered if target else ():
        if agency != target:
            notices += [Deconfliction(report_id=held, agency_id=agency, other_report_id=report_id,
                                      other_agency_id=target),
                        Deconfliction(report_id=report_id, agency_id=target,
                                      other_report_id=held, other_agency_id=agency)]
    return GroupRoute(target, basis, linked_to, tuple(notices))
