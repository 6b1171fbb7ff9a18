"""Statistics the ledger keeps incrementally: bucketed histograms of simulated hours, percentiles
estimated from the buckets, and the data quality of each ESP's reports."""

from collections.abc import Mapping
from dataclasses import dataclass
from math import inf

# Upper bounds (simulated hours) of the buckets of time to acknowledgement and to outcome. The
# last bucket is open: a value past 2,160 hours (90 days) is only known to be past it.
HOUR_BOUNDS = (0.25, 0.5, 1, 2, 4, 8, 12, 24, 48, 72, 120, 168, 336, 720, 1440, 2160, inf)
# Upper bounds of actionability scores (0..100): ten buckets of ten.
SCORE_BOUNDS = tuple(range(10, 101, 10))


def bucket_of(value: float, bounds: tuple[float, ...] = HOUR_BOUNDS) -> int:
    """The index of the first bucket whose upper bound is at least `value`."""
    for index, bound in enumerate(bounds):
        if value <= bound:
            return index
    return len(bounds) - 1


def counts_of(raw: Mapping[str, str | int], prefix: str, size: int) -> list[int]:
    """Bucket counts from a hash whose fields are `<prefix><index>`."""
    return [int(float(raw.get(f"{prefix}{i}", 0))) for i in range(size)]


def percentile(counts: list[int], q: float, bounds: tuple[float, ...] = HOUR_BOUNDS) -> float | None:
    """The q-quantile (0 < q <= 1) estimated from bucket counts: the bucket holding it is found
    by rank, and the value interpolated linearly within it (its lower bound is the previous
    bucket's upper bound). In the open last bucket, its lower bound is all that is known."""
    total = sum(counts)
    if not total:
        return None
    rank = q * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            low = bounds[index - 1] if index else 0.0
            high = bounds[index]
            if high == inf:
                return float(low)
            return round(low + (high - low) * (rank - seen) / count, 3)
        seen += count
    return float(bounds[-2])


@dataclass(frozen=True)
class Distribution:
    count: int
    p50: float | None
    p90: float | None
    p99: float | None
    buckets: list[int]


def distribution(counts: list[int], bounds: tuple[float, ...] = HOUR_BOUNDS) -> Distribution:
    return Distribution(count=sum(counts), p50=percentile(counts, 0.5, bounds),
                        p90=percentile(counts, 0.9, bounds), p99=percentile(counts, 0.99, bounds),
                        buckets=counts)


def share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class DataQuality:
    """What an ESP's reports give law enforcement to work with."""

    triaged: int
    informational_share: float | None
    unassigned_share: float | None
    mean_actionability: float | None
    actionability_buckets: list[int]
    most_missing: list[tuple[str, int, float]]  # (field, reports lacking it, share of reports)


def data_quality(counters: Mapping[str, str | int], top: int = 3) -> DataQuality:
    """An ESP's data quality from its counters: `triaged`, `informational`, `unassigned`,
    `score_sum`, `score:<bucket>` and `missing:<field>`."""
    triaged = int(float(counters.get("triaged", 0)))
    missing = sorted(((name.removeprefix("missing:"), int(float(count)))
                      for name, count in counters.items() if name.startswith("missing:")),
                     key=lambda item: (-item[1], item[0]))
    return DataQuality(
        triaged=triaged,
        informational_share=share(float(counters.get("informational", 0)), triaged),
        unassigned_share=share(float(counters.get("unassigned", 0)), triaged),
        mean_actionability=round(float(counters.get("score_sum", 0)) / triaged, 1) if triaged
        else None,
        actionability_buckets=counts_of(counters, "score:", len(SCORE_BOUNDS)),
        most_missing=[(name, count, share(count, triaged) or 0.0) for name, count in missing[:top]],
    )
