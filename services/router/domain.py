"""Jurisdiction resolution: from the clues in a report to one agency, or to 'unassigned' with reasons."""

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

from shared.directory import Agency, Directory
from shared.schemas.report import Report

DOCUMENTATION_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32",
))

US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "PR": "Puerto Rico", "GU": "Guam", "VI": "U.S. Virgin Islands", "AS": "American Samoa",
    "MP": "Northern Mariana Islands",
}
_STATE_BY_NAME = {name.lower(): code for code, name in US_STATES.items()}

# Unassigned reason codes.
NO_LOCATION_FIELDS = "no_location_fields"
ONLY_PROXY_IPS = "only_proxy_ips"
UNKNOWN_IP_RANGE = "unknown_ip_range"
UNKNOWN_REGION = "unknown_region"


class RoutingDataError(ValueError):
    pass


@dataclass(frozen=True)
class IpTable:
    ranges: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]

    def lookup(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
        for network, jurisdiction in self.ranges:
            if address in network:
                return jurisdiction
        return None


def load_ip_table(path: Path) -> IpTable:
    """Read the synthetic IP table: documentation ranges only, no overlaps."""
    try:
        rows = json.loads(Path(path).read_text())["ranges"]
        ranges = [(ipaddress.ip_network(r["cidr"]), str(r["jurisdiction"])) for r in rows]
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise RoutingDataError(f"IP table {path} is unreadable: {exc}") from exc
    for network, _ in ranges:
        if not any(network.version == d.version and network.subnet_of(d)
                   for d in DOCUMENTATION_NETWORKS):
            raise RoutingDataError(f"IP table {path}: {network} is not a documentation range")
    for i, (a, _) in enumerate(ranges):
        for b, _ in ranges[i + 1:]:
            if a.version == b.version and a.overlaps(b):
                raise RoutingDataError(f"IP table {path}: {a} overlaps {b}")
    return IpTable(tuple(ranges))


def state_code(value: str | None) -> str | None:
    if not value:
        return None
    text = value.strip()
    if text.upper() in US_STATES:
        return text.upper()
    return _STATE_BY_NAME.get(text.lower())


@dataclass(frozen=True)
class Resolution:
    agency: Agency | None
    jurisdiction: str | None
    basis: str | None
    reasons: tuple[str, ...] = ()


def _jurisdiction(country: str | None, region: str | None) -> str | None:
    if not country:
        return None
    if country.upper() == "US":
        code = state_code(region)
        return f"US-{code}" if code else "US"
    return country.upper()


def clues(report: Report, ip_table: IpTable) -> tuple[list[tuple[str, str]], list[str]]:
    """Every usable clue as (basis, jurisdiction), most trusted first, and why others were not."""
    found: list[tuple[str, str]] = []
    problems: list[str] = []
    p = report.person_or_user_reported
    if p and p.estimated_location:
        where = _jurisdiction(p.estimated_location.country_code, p.estimated_location.region)
        if where:
            found.append(("estimatedLocation", where))
    if p and p.ip_capture_event:
        direct = [e for e in p.ip_capture_event if not e.possible_proxy]
        if not direct:
            problems.append(ONLY_PROXY_IPS)
        for event in direct:
            where = ip_table.lookup(event.ip_address)
            if where:
                found.append(("ipCaptureEvent", where))
            elif UNKNOWN_IP_RANGE not in problems:
                problems.append(UNKNOWN_IP_RANGE)
    people = [p.person_or_user_reported_person if p else None]
    people += [v.victim_person for v in report.victim]
    for person in filter(None, people):
        for address in person.address:
            code = state_code(address.state)
            if code and (address.country in (None, "US")):
                found.append(("address", f"US-{code}"))
            elif address.country and address.country != "US":
                found.append(("address", address.country))
    if not found and not problems:
        problems.append(NO_LOCATION_FIELDS)
    return found, problems


def agency_for(jurisdiction: str, directory: Directory) -> Agency | None:
    """The agency for a jurisdiction; a state without a task force goes federal, a country
    without a liaison to the international catch-all."""
    agency = directory.for_jurisdiction(jurisdiction)
    if agency:
        return agency
    fallback = "US" if jurisdiction.startswith("US") else "INTL"
    return directory.for_jurisdiction(fallback)


def resolve(report: Report, ip_table: IpTable, directory: Directory) -> Resolution:
    """The most trusted usable clue decides; no usable clue leaves the report unassigned."""
    found, problems = clues(report, ip_table)
    for basis, jurisdiction in found:
        agency = agency_for(jurisdiction, directory)
        if agency:
            return Resolution(agency, jurisdiction, basis)
        problems.append(UNKNOWN_REGION)
    return Resolution(None, None, None, tuple(dict.fromkeys(problems)))
