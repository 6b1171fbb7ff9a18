"""The gap's headline figures as Prometheus gauges, read from the ledger when /metrics is scraped."""

from prometheus_client import Gauge

from services.tracker import domain
from services.tracker.deps import Reads
from shared.clock import Clock
from shared.metrics import Metrics

HEADLINE = {
    "submitted": "Reports submitted.",
    "forwarded": "Cases handed to agencies.",
    "acknowledged": "Cases an agency acknowledged.",
    "outcome_known": "Cases with a reported outcome.",
    "unassigned": "Reports no jurisdiction could be found for.",
    "sla_breaches": "SLA breaches announced.",
    "dead_letters": "Messages dead-lettered by any service.",
}


def export_gap(metrics: Metrics, reads: Reads, policy: domain.Policy,
               agency_kinds: dict[str, tuple[str, str]], clock: Clock) -> None:
    registry = metrics.registry
    totals = {name: Gauge(f"tipline_gap_{name}", text, registry=registry)
              for name, text in HEADLINE.items()}
    open_cases = Gauge("tipline_gap_open_cases", "Cases forwarded and not yet acknowledged.",
                       registry=registry)
    oldest = Gauge("tipline_gap_oldest_open_hours", "Simulated hours the oldest open case has "
                   "waited for an acknowledgement.", registry=registry)
    dark = Gauge("tipline_gap_dark", "Cases unacknowledged past the SLA of their priority.",
                 registry=registry)
    lost = Gauge("tipline_gap_lost_sight", "Acknowledged cases with no outcome after the "
                 "lost-sight period.", registry=registry)
    no_ack = Gauge("tipline_gap_no_ack_share", "Share of forwarded cases never acknowledged.",
                   registry=registry)
    by_lane = Gauge("tipline_gap_lane_cases", "Cases by lane and state.", ["lane", "state"],
                    registry=registry)

    async def read() -> None:
        t = clock.now()
        f = await reads.figures(list(agency_kinds), t)
        gap = domain.gap(f.totals, f.agencies, f.lanes, f.esps, f.reasons, open_count=f.open_count,
                         oldest_open_hours=None, dark=f.dark, lost_sight=f.lost_sight,
                         policy=policy, agency_kinds=agency_kinds, link_stats=f.link_stats,
                         at_risk=f.at_risk)
        figures = gap.model_dump(by_alias=False)
        for name, gauge in totals.items():
            gauge.set(figures[name])
        open_cases.set(f.open_count)
        oldest.set(policy.hours_between(f.oldest_open, t) if f.oldest_open else 0)
        dark.set(f.dark)
        lost.set(f.lost_sight)
        no_ack.set(gap.no_ack_share or 0)
        for row in gap.by_lane:
            by_lane.labels(row.name, "forwarded").set(row.forwarded)
            by_lane.labels(row.name, "acknowledged").set(row.acknowledged)

    metrics.on_scrape(read)
