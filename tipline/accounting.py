"""Where every report ended, counted from the streams themselves (not from the tracker's ledger):
the one account of lost and doubled reports, used by the benchmark and the fault suite alike.

A report is *placed* when it was routed (a `ReportRouted`), found unassigned, or joined a viral
bundle as a member (triaged, never routed). A case is one report at one agency for one reason
(`why`): a re-notification is a second case at the same agency, an escalation a case at the
federal partner, a deconfliction notice one per linked report it names; the same case twice in
an inbox is a doubled case.
"""

import json
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis

from shared.topology import Topology


def _events(r: redis.Redis, stream: str) -> list[dict[str, Any]]:
    found = []
    for _, fields in r.xrange(stream):
        try:
            found.append(json.loads(fields.get(b"data", b"")))
        except ValueError:
            continue  # a poison entry written on purpose: not a report
    return found


def _twice(counts: Counter[Any]) -> dict[Any, int]:
    return {key: n for key, n in counts.items() if n > 1}


@dataclass(frozen=True)
class Account:
    submitted: Counter[int] = field(default_factory=Counter)
    triaged: Counter[int] = field(default_factory=Counter)
    routed: Counter[int] = field(default_factory=Counter)
    unassigned: Counter[int] = field(default_factory=Counter)
    members: frozenset[int] = frozenset()
    cases: Counter[tuple[int, str, str]] = field(default_factory=Counter)

    @property
    def placed(self) -> set[int]:
        return set(self.routed) | set(self.unassigned) | set(self.members)

    def doubled(self) -> dict[str, dict[Any, int]]:
        """What appears more than once, by kind (empty when nothing is doubled)."""
        found = {"submitted twice": _twice(self.submitted), "triaged twice": _twice(self.triaged),
                 "routed twice": _twice(self.routed), "unassigned twice": _twice(self.unassigned),
                 "cases in an inbox twice": _twice(self.cases)}
        return {kind: twice for kind, twice in found.items() if twice}

    @property
    def doubled_count(self) -> int:
        return sum(n - 1 for twice in self.doubled().values() for n in twice.values())

    def problems(self, accepted: set[int]) -> dict[str, Any]:
        """Everything wrong with the account of these accepted reports: doubled, lost on the way
        in, published without having been accepted, never placed."""
        problems: dict[str, Any] = {kind: dict(list(twice.items())[:20])
                                    for kind, twice in self.doubled().items()}
        problems["accepted but never submitted"] = sorted(accepted - set(self.submitted))[:20]
        problems["submitted but not accepted"] = sorted(set(self.submitted) - accepted)[:20]
        problems["not placed"] = sorted(accepted - self.placed)[:20]
        return {kind: found for kind, found in problems.items() if found}

    def summary(self) -> dict[str, int]:
        return {"reports_placed": len(self.placed), "cases_in_inboxes": sum(self.cases.values()),
                "routed": sum(self.routed.values()), "unassigned": sum(self.unassigned.values()),
                "bundled": len(self.members), "doubled": self.doubled_count}


def account(r: redis.Redis, topology: Topology, agency_ids: Iterable[str]) -> Account:
    """Read every stream a report passes through and count what is in them."""
    t = topology
    triaged = [e for s in t.triaged_by_urgency for e in _events(r, s)]
    cases: Counter[tuple[int, str, str]] = Counter()
    for agency in agency_ids:
        for case in _events(r, t.agency_inbox(agency)):
            why = case.get("why", "jurisdiction")
            if why == "deconfliction":
                why = f"deconfliction:{case['deconfliction']['other_report_id']}"
            cases[(case["report_id"], case["agency_id"], why)] += 1
    return Account(
        submitted=Counter(e["report_id"] for s in t.submitted_by_urgency for e in _events(r, s)),
        triaged=Counter(e["report_id"] for e in triaged),
        routed=Counter(e["report_id"] for e in _events(r, t.routed)
                       if e.get("type") == "ReportRouted"),
        unassigned=Counter(e["report_id"] for e in _events(r, t.unassigned)),
        members=frozenset(e["report_id"] for e in triaged
                          if (e.get("bundle") or {}).get("role") == "member"),
        cases=cases,
    )


def backlog(r: redis.Redis, groups: dict[str, list[str]]) -> dict[str, tuple[int, int]]:
    """Entries not yet read (lag) or read and not acknowledged (pending), by stream and group:
    only the streams and groups that have any."""
    left = {}
    for group, streams in groups.items():
        for stream in streams:
            for g in r.xinfo_groups(stream):
                name = g["name"].decode() if isinstance(g["name"], bytes) else g["name"]
                if name == group:
                    lag = g.get("lag")  # None when Redis cannot tell (after trimming, say)
                    if lag is None:
                        added = r.xinfo_stream(stream).get("entries-added") or 0
                        lag = max(added - (g.get("entries-read") or 0), 0)
                    if lag or g["pending"]:
                        left[f"{stream} ({group})"] = (int(lag), int(g["pending"]))
    return left


def ledger_placed(r: redis.Redis, topology: Topology) -> int:
    """Reports the tracker has recorded as placed (routed, unassigned or bundled)."""
    return sum(int(float(v or 0)) for v in r.hmget(topology.gap_totals, "routed", "unassigned",
                                                   "bundled"))


def settle(r: redis.Redis, topology: Topology, groups: dict[str, list[str]], reports: int,
           timeout: float, also_empty: Iterable[str] = ()) -> tuple[int, dict[str, Any]]:
    """Wait until the tracker has placed `reports` reports and no group has anything left (nor
    is there any key of `also_empty`, e.g. responses not yet due). Answers how many the tracker
    placed and what was left, when it settled or when `timeout` passed."""
    deadline = time.monotonic() + timeout
    while True:
        placed, left = ledger_placed(r, topology), dict(backlog(r, groups))
        left.update({key: "not empty" for key in also_empty if r.exists(key)})
        if (placed >= reports and not left) or time.monotonic() > deadline:
            return placed, left
        time.sleep(0.2)
