"""Linking: which reports are related, and on what basis. Pure: no Redis, no clock.

A report is related to another when they share a normalised identifier of the person reported
(the same offender reported twice, or by two platforms), each link with its basis:

| basis | the identifier | normalised as |
|---|---|---|
| `prior-report` | an id in `priorCTReports` (the person reported's, a recipient's, a victim's) | the id |
| `esp-account` | `espService` + `espIdentifier` | both trimmed, lower case |
| `email` | a verified email | trimmed, lower case |
| `phone` | a verified phone | its digits, after its country calling code |
| `device` | a device id | its type and value, lower case, without spaces, `:` or `-` |
| `ip` | a non-proxy IP address, seen by both within `ip_window_s` | the address's canonical form |

Only what identifies the person reported links (not a victim's email: two reports of one victim by
two different offenders are two cases), and never a file's hash: a viral meme shared by thousands
links none of them. An identifier is kept only as a keyed hash (`keyed`): the store never holds
one in clear.

The relation is symmetric and decided pair by pair, so the groups (its transitive closure) are the
same whatever order the reports arrive in: `group_reports` is the reference the Redis store is
checked against.
"""

import bisect
import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from shared.schemas.events import KeyedClue, KeyedSighting, LinkClues
from shared.schemas.report import Phone, Report

Basis = Literal["prior-report", "esp-account", "email", "phone", "device", "ip"]
BASES: tuple[Basis, ...] = ("prior-report", "esp-account", "email", "phone", "device", "ip")
MIN_PHONE_DIGITS = 7  # fewer is an extension or a typo, not a number that names someone


@dataclass(frozen=True, order=True)
class Clue:
    """A normalised identifier of the person reported (in clear: hashed before it is stored)."""

    basis: Basis
    value: str


@dataclass(frozen=True, order=True)
class Sighting:
    """A non-proxy IP address the person reported was seen at, and when (epoch seconds)."""

    ip: str
    at: float


def _lower(text: str) -> str:
    return " ".join(text.split()).lower()


def phone_number(phone: Phone) -> str | None:
    """The phone's digits, its country calling code first (`+1 (555) 010-0100` and `555-010-0100`
    with `countryCallingCode="+1"` are one number); None when too short to name anyone."""
    digits = re.sub(r"\D", "", phone.value)
    if phone.value.strip().startswith("+"):
        number = digits
    else:
        code = (phone.country_calling_code or "").lstrip("+")
        number = code + digits.lstrip("0") if code and not digits.startswith(code) else digits
    return number if len(number) >= MIN_PHONE_DIGITS else None


_DEVICE_SEPARATORS = re.compile(r"[\s:-]")


def device_key(id_type: str, id_value: str) -> str:
    return f"{_lower(id_type)}:{_DEVICE_SEPARATORS.sub('', id_value).lower()}"


def clues(report: Report) -> list[Clue]:
    """Every identifier of the report's person reported but its IP addresses, each once, sorted."""
    found: set[Clue] = set()
    people = [report.person_or_user_reported, *report.intended_recipient, *report.victim]
    for person in filter(None, people):
        found |= {Clue("prior-report", str(n)) for n in person.prior_ct_reports}
    suspect = report.person_or_user_reported
    if suspect is None:
        return sorted(found)
    if suspect.esp_service and suspect.esp_identifier:
        found.add(Clue("esp-account", f"{_lower(suspect.esp_service)}|"
                                      f"{_lower(suspect.esp_identifier)}"))
    person = suspect.person_or_user_reported_person
    if person is not None:
        found |= {Clue("email", _lower(e.value)) for e in person.email if e.verified}
        found |= {Clue("phone", n) for p in person.phone if p.verified
                  if (n := phone_number(p)) is not None}
    found |= {Clue("device", device_key(d.id_type, d.id_value)) for d in suspect.device_id}
    return sorted(found)


def sightings(report: Report) -> list[Sighting]:
    """The person reported's IP addresses not flagged as a possible proxy, with a time."""
    suspect = report.person_or_user_reported
    if suspect is None:
        return []
    return sorted({Sighting(e.ip_address, e.date_time.timestamp()) for e in suspect.ip_capture_event
                   if e.date_time is not None and not e.possible_proxy})


def keyed(key: bytes, clue: Clue) -> str:
    """The clue as the store keeps it: HMAC-SHA256 under the linking key, never the clue itself."""
    return hmac.new(key, f"{clue.basis}:{clue.value}".encode(), hashlib.sha256).hexdigest()[:32]


def link_clues(report: Report, key: bytes) -> LinkClues:
    """What linking keeps of a report, computed where the report is read (triage): its clues and
    sightings as keyed hashes, the cited report ids as they are. Nothing in clear leaves here."""
    return LinkClues(
        clues=[KeyedClue(basis=c.basis, hash=keyed(key, c),
                         cited=int(c.value) if c.basis == "prior-report" else None)
               for c in clues(report)],
        sightings=[KeyedSighting(hash=keyed(key, Clue("ip", s.ip)), at=s.at)
                   for s in sightings(report)])


@dataclass(frozen=True, order=True)
class Link:
    """Report `a` (the earlier id) related to report `b`, on a basis."""

    a: int
    b: int
    basis: Basis


def related(first: tuple[int, Report], second: tuple[int, Report], ip_window_s: float
            ) -> set[Basis]:
    """The bases on which two reports are related (empty: they are not)."""
    (id_a, a), (id_b, b) = first, second
    bases: set[Basis] = set()
    clues_a, clues_b = set(clues(a)), set(clues(b))
    if Clue("prior-report", str(id_b)) in clues_a or Clue("prior-report", str(id_a)) in clues_b:
        bases.add("prior-report")
    bases |= {c.basis for c in clues_a & clues_b}
    if any(x.ip == y.ip and abs(x.at - y.at) <= ip_window_s
           for x in sightings(a) for y in sightings(b)):
        bases.add("ip")
    return bases


class Groups:
    """Union-find over report ids; a group is named by its smallest id, whatever the order."""

    def __init__(self) -> None:
        self._parent: dict[int, int] = {}

    def find(self, report_id: int) -> int:
        root = report_id
        while (up := self._parent.get(root, root)) != root:
            root = up
        while (up := self._parent.get(report_id, report_id)) != root:  # path compression
            self._parent[report_id] = root
            report_id = up
        return root

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        low, high = min(ra, rb), max(ra, rb)
        if low != high:
            self._parent[high] = low
        self._parent.setdefault(low, low)
        return low

    def groups(self) -> set[frozenset[int]]:
        by_root: dict[int, set[int]] = {}
        for report_id in list(self._parent):
            by_root.setdefault(self.find(report_id), set()).add(report_id)
        return {frozenset(g) for g in by_root.values() if len(g) > 1}


def links(reports: Iterable[tuple[int, Report]], ip_window_s: float) -> Iterator[Link]:
    """Every pair of related reports (the reference: quadratic, for tests and small sets)."""
    seen = list(reports)
    for i, first in enumerate(seen):
        for second in seen[i + 1:]:
            (a, _), (b, _) = sorted((first, second), key=lambda r: r[0])
            for basis in sorted(related(first, second, ip_window_s)):
                yield Link(a, b, basis)


def group_reports(reports: Iterable[tuple[int, Report]], ip_window_s: float
                  ) -> set[frozenset[int]]:
    """The groups of related reports, as the store must find them in any arrival order. A report
    citing one not (yet) among them is grouped with that id all the same."""
    groups = Groups()
    seen = list(reports)
    for link in links(seen, ip_window_s):
        groups.union(link.a, link.b)
    present = {report_id for report_id, _ in seen}
    for report_id, report in seen:
        for clue in clues(report):
            if clue.basis == "prior-report" and int(clue.value) not in present:
                groups.union(report_id, int(clue.value))
    return groups.groups()


class Linker:
    """Incremental linking, as the store does it (`services.router.link_store`), in memory: each
    identifier names its first holder and a later report is linked to that one (all its holders
    are then in one group); a cited report is linked directly; an address's sighting is linked
    to the nearest other sighting on each side within the window. The groups are
    `group_reports`'s in any arrival order (a hypothesis property checks it)."""

    def __init__(self, key: bytes, ip_window_s: float) -> None:
        self.key = key
        self.ip_window_s = ip_window_s
        self.groups = Groups()
        self._first: dict[str, int] = {}
        self._seen_at: dict[str, list[tuple[float, str]]] = {}

    def add(self, report_id: int, report: Report) -> list[Link]:
        """The report's links to the reports added before it (none twice: adding a report again
        finds what it found the first time and changes nothing)."""
        found: set[Link] = set()

        def link(other: int, basis: Basis) -> None:
            if other != report_id:
                found.add(Link(min(other, report_id), max(other, report_id), basis))

        for clue in clues(report):
            if clue.basis == "prior-report":
                link(int(clue.value), clue.basis)
            else:
                link(self._first.setdefault(keyed(self.key, clue), report_id), clue.basis)
        for sighting in sightings(report):
            seen = self._seen_at.setdefault(keyed(self.key, Clue("ip", sighting.ip)), [])
            mine = f"{report_id}:{sighting.at!r}"
            at, w = sighting.at, self.ip_window_s
            later = [m for t, m in seen if at <= t <= at + w]
            earlier = [m for t, m in reversed(seen) if at - w <= t <= at]
            for side in (later, earlier):
                other = next((int(m.split(":")[0]) for m in side
                              if int(m.split(":")[0]) != report_id), None)
                if other is not None:
                    link(other, "ip")
            if (at, mine) not in seen:
                bisect.insort(seen, (at, mine))
        for found_link in found:
            self.groups.union(found_link.a, found_link.b)
        return sorted(found)
