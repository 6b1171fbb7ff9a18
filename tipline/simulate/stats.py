"""What a simulation counts, in a form two partitions add up exactly: counters, the tracker's
buckets of hours to acknowledgement per lane, and per-day series. Percentiles come from the
merged buckets, estimated as the tracker estimates them."""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from services.tracker.domain import HOUR_BOUNDS, distribution
from tipline.simulate.model import LANES

SERIES = ("submitted", "forwarded", "acknowledged", "newly_dark")


def _counter() -> defaultdict[str, int]:
    return defaultdict(int)


def _counters() -> defaultdict[str, defaultdict[str, int]]:
    return defaultdict(_counter)


def _zeros() -> dict[str, list[int]]:
    return {lane: [0] * len(HOUR_BOUNDS) for lane in LANES}


def _add(a: defaultdict[str, int], b: defaultdict[str, int]) -> None:
    for k, v in b.items():
        a[k] = a.get(k, 0) + v


@dataclass
class Stats:
    counts: defaultdict[str, int] = field(default_factory=_counter)
    lanes: defaultdict[str, defaultdict[str, int]] = field(default_factory=_counters)
    ack_buckets: dict[str, list[int]] = field(default_factory=_zeros)
    reasons: defaultdict[str, int] = field(default_factory=_counter)
    esps: defaultdict[str, defaultdict[str, int]] = field(default_factory=_counters)
    agencies: defaultdict[str, defaultdict[str, int]] = field(default_factory=_counters)
    series: dict[str, list[int]] = field(default_factory=dict)
    reports: list[dict[str, Any]] = field(default_factory=list)  # per report, when recorded

    def merge(self, other: "Stats") -> "Stats":
        _add(self.counts, other.counts)
        _add(self.reasons, other.reasons)
        for lane in LANES:
            _add(self.lanes[lane], other.lanes[lane])
            self.ack_buckets[lane] = [a + b for a, b in zip(self.ack_buckets[lane],
                                                            other.ack_buckets[lane], strict=True)]
        for mine, theirs in ((self.esps, other.esps), (self.agencies, other.agencies)):
            for name, c in theirs.items():
                _add(mine[name], c)
        for name, values in other.series.items():
            have = self.series.setdefault(name, [])
            have.extend([0] * (len(values) - len(have)))
            for i, v in enumerate(values):
                have[i] += v
        self.reports.extend(other.reports)
        return self

    def summary(self, sla_hours: dict[str, float | None]) -> dict[str, Any]:
        """The figures of a run: the table's and the rest, as `--json` writes them."""
        c = self.counts
        triaged = c.get("triaged", 0)
        forwarded = c.get("forwarded", 0)

        def share(part: int, whole: int) -> float | None:
            return round(part / whole, 4) if whole else None

        lanes = {}
        for lane in LANES:
            d = distribution(self.ack_buckets[lane])
            row = self.lanes[lane]
            lanes[lane] = {"forwarded": row.get("forwarded", 0),
                           "acknowledged": row.get("acknowledged", 0),
                           "sla_hours": sla_hours.get(lane), "p50": d.p50, "p90": d.p90,
                           "p99": d.p99, "sla_breaches": row.get("sla_breaches", 0),
                           "dark": row.get("dark", 0), "buckets": d.buckets}
        return {
            "reports": c.get("submitted", 0), "triaged": triaged,
            "informational_share": share(c.get("informational", 0), triaged),
            "unassigned_share": share(c.get("unassigned", 0), triaged),
            "bundled": c.get("bundled", 0), "forwarded": forwarded,
            "acknowledged": c.get("acknowledged", 0),
            "no_ack_share": share(forwarded - c.get("acknowledged", 0), forwarded),
            "outcome_known": c.get("outcome", 0), "dark": c.get("dark", 0),
            "sla_breaches": c.get("sla_breaches", 0), "renotified": c.get("renotified", 0),
            "escalations": c.get("escalations", 0),
            "acknowledged_after_preservation": c.get("preservation_lapsed", 0),
            "unassigned_reasons": dict(sorted(self.reasons.items())),
            "lanes": lanes,
            "esps": {name: {**e, "unassigned_share": share(e.get("unassigned", 0),
                                                            e.get("submitted", 0))}
                     for name, e in sorted(self.esps.items())},
            "agencies": {name: dict(c) for name, c in sorted(self.agencies.items())},
            "series": self.series,
        }
