"""The handoff gap, from the counters the ledger keeps: how often, and for how long, nobody knows
what happened to a report after it was forwarded. Nothing here scans reports."""

from collections.abc import Mapping

from pydantic import Field

from services.tracker.domain.policy import LANES, Policy
from services.tracker.domain.stats import (
    HOUR_BOUNDS,
    SCORE_BOUNDS,
    Distribution,
    counts_of,
    data_quality,
    distribution,
    share,
)
from shared.schemas.camel import CamelView

Counters = Mapping[str, str]


class Hours(CamelView):
    """A distribution of simulated hours, estimated from its buckets."""

    count: int
    p50: float | None
    p90: float | None
    p99: float | None


def _hours(d: Distribution) -> Hours:
    return Hours(count=d.count, p50=d.p50, p90=d.p90, p99=d.p99)


def _int(counters: Counters, name: str) -> int:
    return int(float(counters.get(name, 0)))


def ack_distribution(counters: Counters) -> Distribution:
    return distribution(counts_of(counters, "ack:", len(HOUR_BOUNDS)))


def outcome_distribution(counters: Counters) -> Distribution:
    return distribution(counts_of(counters, "out:", len(HOUR_BOUNDS)))


class GapRow(CamelView):
    """Cases handed to one agency, in one lane, or of one ESP's reports, and what is known after."""

    name: str
    forwarded: int
    acknowledged: int
    outcome_known: int
    unassigned: int
    open: int = Field(description="Forwarded and not (yet) acknowledged.")
    dark: int = Field(description="Unacknowledged past the SLA of their priority, now.")
    sla_breaches: int
    files_needing_legal_process: int = Field(description="Files of its cases the ESP did not "
                                             "view: opening them needs legal process.")
    no_ack_share: float | None
    time_to_ack: Hours
    time_to_outcome: Hours
    preservation_expired: int = Field(default=0, description="Cases whose report's preservation "
                                      "ended before anyone acknowledged them.")
    notices_sent: int = Field(default=0, description="Deconfliction notices: linked cases at "
                              "another agency.")
    notices_acknowledged: int = 0


def gap_row(name: str, counters: Counters) -> GapRow:
    forwarded, acked = _int(counters, "forwarded"), _int(counters, "acknowledged")
    return GapRow(
        name=name, forwarded=forwarded, acknowledged=acked,
        outcome_known=_int(counters, "outcome"), unassigned=_int(counters, "unassigned"),
        open=max(forwarded - acked, 0), dark=_int(counters, "dark"),
        sla_breaches=_int(counters, "sla_breaches"),
        files_needing_legal_process=_int(counters, "files_needing_legal_process"),
        no_ack_share=share(max(forwarded - acked, 0), forwarded),
        time_to_ack=_hours(ack_distribution(counters)),
        time_to_outcome=_hours(outcome_distribution(counters)),
        preservation_expired=_int(counters, "preservation_expired"),
        notices_sent=_int(counters, "notices_sent"),
        notices_acknowledged=_int(counters, "notices_acknowledged"),
    )


class Linking(CamelView):
    """Related reports: the groups linking found, and the groups split across agencies."""

    groups: int = Field(description="Link groups of two reports or more.")
    linked_reports: int = Field(description="Reports in them.")
    routed_by_group: int = Field(description="Reports without a jurisdiction of their own, sent "
                                 "to the agency holding their group.")
    deconflictions: int = Field(description="Reports whose linked cases sit with another agency: "
                                "their group split across agencies, each agency told.")
    notices_sent: int
    notices_acknowledged: int
    time_to_notice_ack: Hours = Field(description="Simulated hours from a notice to its "
                                      "acknowledgement: how long a split group stays unknown to "
                                      "the agency told.")


class Preservation(CamelView):
    """The preservation clock: what a late acknowledgement may find gone."""

    days: float = Field(description="Simulated days a report's content is preserved from its "
                        "submission (TIPLINE_PRESERVATION_DAYS).")
    at_risk_days: float
    expired_before_ack: int = Field(description="Cases whose preservation ended before anyone "
                                    "acknowledged them (and so before an outcome).")
    at_risk: int = Field(description="Unacknowledged cases whose preservation ends within "
                         "at_risk_days, now.")
    warnings: int = Field(description="Agencies warned of a case's preservation ending.")


class AgencyRow(GapRow):
    kind: str
    played_by: str


class LaneRow(GapRow):
    sla_hours: float | None


class MissingField(CamelView):
    field: str
    reports: int
    share: float


class EspRow(GapRow):
    """An ESP's reports: how far they got, and what they gave law enforcement to work with."""

    submitted: int
    triaged: int
    informational_share: float | None
    unassigned_share: float | None
    mean_actionability: float | None
    actionability_buckets: list[int] = Field(description="Reports by actionability score, in "
                                             "buckets of ten (0-10, 11-20, ... 91-100).")
    most_missing: list[MissingField]


class OpenCases(CamelView):
    count: int
    oldest_hours: float | None


class Offers(CamelView):
    """Reports no jurisdiction could be found for, offered to the federal partner."""

    offered: int
    taken: int = Field(description="Offers the federal partner acknowledged.")


class Gap(CamelView):
    submitted: int
    triaged: int
    routed: int
    forwarded: int
    acknowledged: int
    outcome_known: int
    unassigned: int
    offered_to_federal: int
    bundled: int
    sla_breaches: int
    renotified: int
    escalations: int
    dead_letters: int
    no_ack_share: float | None
    dark: int = Field(description="Cases forwarded and unacknowledged past the SLA of their "
                      "priority, now.")
    lost_sight: int = Field(description="Acknowledged cases with no outcome after the lost-sight "
                            "period.")
    open: OpenCases
    offers: Offers
    time_to_ack: Hours
    time_to_outcome: Hours
    sla_hours: dict[str, float | None]
    lost_sight_days: float
    unassigned_reasons: dict[str, int]
    by_agency: list[AgencyRow]
    by_lane: list[LaneRow]
    by_esp: list[EspRow]
    linking: Linking
    preservation: Preservation


def esp_row(name: str, counters: Counters) -> EspRow:
    quality = data_quality(counters)
    return EspRow(
        **gap_row(name, counters).model_dump(), submitted=_int(counters, "submitted"),
        triaged=quality.triaged, informational_share=quality.informational_share,
        unassigned_share=quality.unassigned_share, mean_actionability=quality.mean_actionability,
        actionability_buckets=quality.actionability_buckets,
        most_missing=[MissingField(field=f, reports=n, share=s) for f, n, s in quality.most_missing],
    )


def gap(totals: Counters, agencies: Mapping[str, Counters], lanes: Mapping[str, Counters],
        esps: Mapping[str, Counters], reasons: Counters, *, open_count: int,
        oldest_open_hours: float | None, dark: int, lost_sight: int, policy: Policy,
        agency_kinds: Mapping[str, tuple[str, str]], link_stats: Counters | None = None,
        at_risk: int = 0) -> Gap:
    """The gap from the ledger's counters. `agency_kinds`: agency id -> (kind, played by)."""
    overall = gap_row("all", totals)
    return Gap(
        submitted=_int(totals, "submitted"), triaged=_int(totals, "triaged"),
        routed=_int(totals, "routed"), forwarded=overall.forwarded,
        acknowledged=overall.acknowledged, outcome_known=overall.outcome_known,
        unassigned=overall.unassigned, offered_to_federal=_int(totals, "offered"),
        bundled=_int(totals, "bundled"), sla_breaches=overall.sla_breaches,
        renotified=_int(totals, "renotified"), escalations=_int(totals, "escalations"),
        dead_letters=_int(totals, "dead_letters"), no_ack_share=overall.no_ack_share,
        dark=dark, lost_sight=lost_sight,
        open=OpenCases(count=open_count, oldest_hours=oldest_open_hours),
        offers=Offers(offered=_int(totals, "offered"), taken=_int(totals, "offers_taken")),
        time_to_ack=overall.time_to_ack, time_to_outcome=overall.time_to_outcome,
        sla_hours={lane: policy.sla_hours.get(lane) for lane in LANES},
        lost_sight_days=policy.lost_sight_days,
        unassigned_reasons={reason: int(float(n)) for reason, n in sorted(reasons.items())},
        by_agency=[AgencyRow(**gap_row(name, c).model_dump(), kind=agency_kinds[name][0],
                             played_by=agency_kinds[name][1])
                   for name, c in agencies.items() if c and name in agency_kinds],
        by_lane=[LaneRow(**gap_row(lane, lanes.get(lane, {})).model_dump(),
                         sla_hours=policy.sla_hours.get(lane)) for lane in LANES],
        by_esp=[esp_row(name, c) for name, c in sorted(esps.items()) if c],
        linking=Linking(
            groups=_int(link_stats or {}, "groups"),
            linked_reports=_int(link_stats or {}, "linked_reports"),
            routed_by_group=_int(totals, "routed_by_group"),
            deconflictions=_int(totals, "deconflictions"),
            notices_sent=_int(totals, "notices_sent"),
            notices_acknowledged=_int(totals, "notices_acknowledged"),
            time_to_notice_ack=_hours(distribution(counts_of(totals, "nack:", len(HOUR_BOUNDS))))),
        preservation=Preservation(
            days=policy.preservation_days, at_risk_days=policy.preservation_at_risk_days,
            expired_before_ack=_int(totals, "preservation_expired"),
            at_risk=at_risk, warnings=_int(totals, "preservation_warnings")),
    )


class Histogram(CamelView):
    """Time to acknowledgement of one lane's cases, bucket by bucket, against the lane's SLA."""

    lane: str
    sla_hours: float | None
    bounds: list[float | None] = Field(description="Upper bounds in simulated hours; null: open.")
    counts: list[int]
    p50: float | None
    p90: float | None
    p99: float | None


def histograms(lanes: Mapping[str, Counters], policy: Policy) -> list[Histogram]:
    bounds = [None if b == float("inf") else float(b) for b in HOUR_BOUNDS]
    rows = []
    for lane in ("all", *LANES):
        d = ack_distribution(lanes.get(lane, {}))
        rows.append(Histogram(lane=lane, sla_hours=policy.sla_hours.get(lane), bounds=bounds,
                              counts=d.buckets, p50=d.p50, p90=d.p90, p99=d.p99))
    return rows


SERIES = ("submitted", "forwarded", "acknowledged", "newly_dark")


class SeriesPoint(CamelView):
    hour: int = Field(description="Simulated hours since the epoch.")
    submitted: int
    forwarded: int
    acknowledged: int
    newly_dark: int


def series(raw: Mapping[str, Mapping[int, int]], hours: list[int]) -> list[SeriesPoint]:
    """Per simulated hour: reports submitted, cases forwarded, acknowledged, newly dark."""
    return [SeriesPoint(hour=h, **{m: int(raw.get(m, {}).get(h, 0)) for m in SERIES})
            for h in hours]


SCORE_BUCKET_LABELS = [f"{b - 9 if b > 10 else 0}-{b}" for b in SCORE_BOUNDS]
