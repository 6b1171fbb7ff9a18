"""The ledger's rules: what each event records, a report's timeline, and the handoff gap."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from shared.schemas.events import (
    CaseAcknowledged,
    CaseOutcomeReported,
    ReportRouted,
    ReportSubmitted,
    ReportTriaged,
    ReportUnassigned,
)

STAGE_ORDER = ("submitted", "triaged", "routed", "unassigned", "acknowledged", "outcome")
LANES = ("p1", "p2", "p3", "informational")

ReportEvent = (
    ReportSubmitted | ReportTriaged | ReportRouted | ReportUnassigned | CaseAcknowledged
    | CaseOutcomeReported
)


@dataclass(frozen=True)
class Step:
    """What one event adds to the ledger: a stage of the timeline, and the counters it moves."""

    stage: str
    detail: dict[str, Any]
    counters: tuple[str, ...]
    agency_id: str | None = None
    lane: str | None = None
    open_case: Literal["add", "remove", ""] = ""
    sums: dict[str, float] = field(default_factory=dict)


def step_for(event: ReportEvent) -> Step:
    """The ledger step of one event; each stage is recorded once per report."""
    at = event.occurred_at.isoformat()
    match event:
        case ReportSubmitted():
            return Step("submitted", {"at": at, "lane": event.lane, "esp": event.esp}, ("submitted",))
        case ReportTriaged():
            member = event.bundle is not None and event.bundle.role == "member"
            return Step("triaged", {
                "at": at, "priority": event.priority, "disposition": event.disposition,
                "lane": event.lane, "reasons": [r.model_dump() for r in event.reasons],
                "actionability": event.actionability.score,
                "missing": event.actionability.missing, "labels": event.labels,
                "knownFiles": event.known_files, "novelFiles": event.novel_files,
                "bundle": event.bundle.model_dump() if event.bundle else None,
            }, ("triaged", "bundled") if member else ("triaged",), lane=event.lane)
        case ReportRouted():
            return Step("routed", {
                "at": at, "agency": event.agency_id, "jurisdiction": event.jurisdiction,
                "basis": event.basis, "lane": event.lane,
            }, ("forwarded",), agency_id=event.agency_id, lane=event.lane, open_case="add")
        case ReportUnassigned():
            return Step("unassigned", {"at": at, "reasons": event.reasons, "lane": event.lane},
                        ("unassigned",), lane=event.lane)
        case CaseAcknowledged():
            return Step("acknowledged", {
                "at": at, "agency": event.agency_id, "afterHours": event.after_hours,
            }, ("acknowledged",), agency_id=event.agency_id, lane=event.lane, open_case="remove",
                sums={"ack_hours": event.after_hours})
        case CaseOutcomeReported():
            return Step("outcome", {
                "at": at, "agency": event.agency_id, "outcome": event.outcome,
                "afterHours": event.after_hours,
            }, ("outcome",), agency_id=event.agency_id, lane=event.lane)
    raise TypeError(f"no ledger step for {type(event).__name__}")


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class StageView(_Out):
    stage: str
    at: datetime
    detail: dict[str, Any]


class Timeline(_Out):
    report_id: int
    stages: list[StageView]
    lane: str | None
    priority: int | None
    disposition: str | None
    agency: str | None
    acknowledged: bool
    acknowledged_after_hours: float | None
    outcome: str | None
    unassigned_reasons: list[str] | None
    actionability: int | None
    bundle: dict[str, Any] | None


def timeline(report_id: int, fields: dict[str, str]) -> Timeline:
    """A report's stages in time order, with the summary a reader wants first."""
    stages = {name: json.loads(value) for name, value in fields.items()}
    views = sorted(
        (StageView(stage=name, at=d.pop("at"), detail=d) for name, d in
         ((n, dict(v)) for n, v in stages.items())),
        key=lambda v: (v.at, STAGE_ORDER.index(v.stage) if v.stage in STAGE_ORDER else 99),
    )
    triaged = stages.get("triaged", {})
    routed = stages.get("routed", {})
    ack = stages.get("acknowledged")
    return Timeline(
        report_id=report_id, stages=views,
        lane=triaged.get("lane") or stages.get("submitted", {}).get("lane"),
        priority=triaged.get("priority"), disposition=triaged.get("disposition"),
        agency=routed.get("agency"), acknowledged=ack is not None,
        acknowledged_after_hours=ack["afterHours"] if ack else None,
        outcome=stages.get("outcome", {}).get("outcome"),
        unassigned_reasons=stages["unassigned"]["reasons"] if "unassigned" in stages else None,
        actionability=triaged.get("actionability"), bundle=triaged.get("bundle"),
    )


class GapRow(_Out):
    """Forwarded cases of one agency or lane, and what is known of them afterwards."""

    name: str
    forwarded: int
    acknowledged: int
    outcome_known: int
    unassigned: int
    no_ack_share: float | None
    mean_ack_hours: float | None


class OpenCases(_Out):
    count: int
    oldest_hours: float | None


class Gap(_Out):
    submitted: int
    triaged: int
    forwarded: int
    acknowledged: int
    outcome_known: int
    unassigned: int
    bundled: int
    dead_letters: int
    no_ack_share: float | None
    open: OpenCases
    by_agency: list[GapRow]
    by_lane: list[GapRow]


def gap_row(name: str, counters: dict[str, str]) -> GapRow:
    forwarded = int(counters.get("forwarded", 0))
    acked = int(counters.get("acknowledged", 0))
    ack_hours = float(counters.get("ack_hours", 0.0))
    return GapRow(
        name=name, forwarded=forwarded, acknowledged=acked,
        outcome_known=int(counters.get("outcome", 0)), unassigned=int(counters.get("unassigned", 0)),
        no_ack_share=round(max(forwarded - acked, 0) / forwarded, 4) if forwarded else None,
        mean_ack_hours=round(ack_hours / acked, 2) if acked else None,
    )


def gap(totals: dict[str, str], by_agency: dict[str, dict[str, str]],
        by_lane: dict[str, dict[str, str]], open_count: int, oldest_open_hours: float | None) -> Gap:
    """The handoff gap: how often, and for how long, nobody knows what happened after forwarding."""
    overall = gap_row("all", totals)
    return Gap(
        submitted=int(totals.get("submitted", 0)), triaged=int(totals.get("triaged", 0)),
        forwarded=overall.forwarded, acknowledged=overall.acknowledged,
        outcome_known=overall.outcome_known, unassigned=overall.unassigned,
        bundled=int(totals.get("bundled", 0)), dead_letters=int(totals.get("dead_letters", 0)),
        no_ack_share=overall.no_ack_share,
        open=OpenCases(count=open_count, oldest_hours=oldest_open_hours),
        by_agency=[gap_row(name, c) for name, c in by_agency.items()],
        by_lane=[gap_row(name, by_lane.get(name, {})) for name in LANES],
    )
