"""The ledger's rules: what each event records, a report's timeline, SLA breaches, and the gap.

A report's timeline is a set of stages, each recorded once. Stages about one agency's case carry
the agency in their name (`handoff:icac-ca`, `acknowledged:icac-ca`), because one report can be
handed to several agencies (a federal partner as well, an escalation, an offer when unassigned).
The gap counts handoffs: how many cases agencies received, and how many they acknowledged.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from shared.schemas.events import (
    CaseAcknowledged,
    CaseEscalated,
    CaseOutcomeReported,
    CaseReason,
    CaseRenotified,
    ReportRouted,
    ReportSubmitted,
    ReportTriaged,
    ReportUnassigned,
    SlaBreached,
)
from shared.schemas.views import ReportSubmittedSummary, ReportTriagedSummary

# Stages of one event share a time; this order breaks the tie (an escalation before the handoff
# it causes).
STAGE_ORDER = ("submitted", "triaged", "routed", "unassigned", "sla_breach_1", "renotified",
               "sla_breach_2", "escalated", "handoff", "acknowledged", "outcome")
LANES = ("p1", "p2", "p3", "informational")

# The tracker reads submitted and triaged reports without their bodies: it records what happened.
ReportEvent = (
    ReportSubmittedSummary | ReportTriagedSummary | ReportRouted | ReportUnassigned  # type: ignore[valid-type]
    | CaseAcknowledged | CaseOutcomeReported | SlaBreached | CaseRenotified | CaseEscalated
)


@dataclass(frozen=True)
class Step:
    """What one event adds to the ledger: a stage of the timeline, and the counters it moves."""

    stage: str
    detail: dict[str, Any]
    counters: tuple[str, ...] = ()
    agency_id: str | None = None
    lane: str | None = None
    open_case: Literal["add", "remove", ""] = ""
    watch_sla: bool = False
    sums: dict[str, float] = field(default_factory=dict)


def handoff(agency_id: str, why: CaseReason, at: str, lane: str, priority: int, jurisdiction: str,
            incident_type: str, extra: tuple[str, ...] = ()) -> Step:
    """A case handed to an agency: counted as forwarded, open until the agency acknowledges it.
    Only the local agency's priority-1 case is watched for the SLA."""
    return Step(
        f"handoff:{agency_id}",
        {"at": at, "why": why, "lane": lane, "priority": priority, "jurisdiction": jurisdiction,
         "incidentType": incident_type},
        ("forwarded", *extra), agency_id=agency_id, lane=lane, open_case="add",
        watch_sla=lane == "p1" and why == "jurisdiction",
    )


def steps_for(event: ReportEvent) -> list[Step]:
    """The ledger steps of one event; each stage is recorded once per report."""
    at = event.occurred_at.isoformat()
    match event:
        case ReportSubmitted() | ReportSubmittedSummary():
            return [Step("submitted", {"at": at, "lane": event.lane, "esp": event.esp}, ("submitted",))]
        case ReportTriaged() | ReportTriagedSummary():
            member = event.bundle is not None and event.bundle.role == "member"
            return [Step("triaged", {
                "at": at, "priority": event.priority, "disposition": event.disposition,
                "lane": event.lane, "reasons": [r.model_dump() for r in event.reasons],
                "actionability": event.actionability.score,
                "missing": event.actionability.missing, "labels": event.labels,
                "knownFiles": event.known_files, "novelFiles": event.novel_files,
                "bundle": event.bundle.model_dump() if event.bundle else None,
            }, ("triaged", "bundled") if member else ("triaged",), lane=event.lane)]
        case ReportRouted():
            incident = event.incident_type
            return [
                Step("routed", {
                    "at": at, "agency": event.agency_id, "jurisdiction": event.jurisdiction,
                    "region": event.region, "basis": event.basis, "confidence": event.confidence,
                    "conflicts": event.conflicts, "lane": event.lane,
                    "alsoNotified": [n.model_dump() for n in event.also_notified],
                }, ("routed",), lane=event.lane),
                handoff(event.agency_id, "jurisdiction", at, event.lane, event.priority,
                        event.jurisdiction, incident),
                *[handoff(n.agency_id, n.why, at, event.lane, event.priority, event.jurisdiction,
                          incident) for n in event.also_notified],
            ]
        case ReportUnassigned():
            steps = [Step("unassigned", {"at": at, "reasons": event.reasons, "lane": event.lane,
                                         "offeredTo": event.offered_to}, ("unassigned",),
                          lane=event.lane)]
            if event.offered_to:
                steps.append(handoff(event.offered_to, "unassigned_offer", at, event.lane,
                                     event.priority, "unknown", "", extra=("offered",)))
            return steps
        case CaseAcknowledged():
            return [Step(f"acknowledged:{event.agency_id}", {"at": at, "afterHours": event.after_hours},
                         ("acknowledged",), agency_id=event.agency_id, lane=event.lane,
                         open_case="remove", sums={"ack_hours": event.after_hours})]
        case CaseOutcomeReported():
            return [Step(f"outcome:{event.agency_id}", {
                "at": at, "outcome": event.outcome, "afterHours": event.after_hours,
            }, ("outcome",), agency_id=event.agency_id, lane=event.lane)]
        case SlaBreached():
            return [Step(f"sla_breach_{event.level}:{event.agency_id}",
                         {"at": at, "openHours": event.open_hours}, ("sla_breaches",),
                         agency_id=event.agency_id, lane=event.lane)]
        case CaseRenotified():
            return [Step(f"renotified:{event.agency_id}", {"at": at}, ("renotified",),
                         agency_id=event.agency_id, lane=event.lane)]
        case CaseEscalated():
            return [
                Step(f"escalated:{event.from_agency}", {"at": at, "to": event.to_agency},
                     ("escalations",), agency_id=event.from_agency, lane=event.lane),
                handoff(event.to_agency, "escalation", at, event.lane, 1, "", ""),
            ]
    raise TypeError(f"no ledger step for {type(event).__name__}")


def sla_breach(report_id: int, agency_id: str, handoff_detail: dict[str, Any], level: int,
               open_hours: float) -> SlaBreached | None:
    """The breach to announce for a case still open past the SLA: level 1 (re-notify), level 2
    (escalate); after that the case is no longer watched."""
    if level > 2:
        return None
    return SlaBreached(
        report_id=report_id, producer="tracker", agency_id=agency_id,
        lane=handoff_detail.get("lane", "p1"),
        priority=handoff_detail.get("priority", 1), jurisdiction=handoff_detail.get("jurisdiction", ""),
        incident_type=handoff_detail.get("incidentType", ""), level=level,  # type: ignore[arg-type]
        open_hours=round(open_hours, 2),
    )


class _Out(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              serialize_by_alias=True, frozen=True)


class StageView(_Out):
    stage: str
    agency: str | None
    at: datetime
    detail: dict[str, Any]


class HandoffView(_Out):
    agency: str
    why: str
    at: datetime
    acknowledged_at: datetime | None
    acknowledged_after_hours: float | None
    outcome: str | None
    sla_breaches: int
    renotified: bool
    escalated_to: str | None


class Timeline(_Out):
    report_id: int
    stages: list[StageView]
    handoffs: list[HandoffView]
    lane: str | None
    priority: int | None
    disposition: str | None
    actionability: int | None
    bundle: dict[str, Any] | None
    agency: str | None
    acknowledged: bool
    acknowledged_after_hours: float | None
    outcome: str | None
    unassigned_reasons: list[str] | None


def _stage_key(view: StageView) -> tuple[datetime, int]:
    return view.at, STAGE_ORDER.index(view.stage) if view.stage in STAGE_ORDER else 99


def timeline(report_id: int, fields: dict[str, str]) -> Timeline:
    """A report's stages in time order, its handoffs, and the summary a reader wants first."""
    views = []
    by_name: dict[str, dict[str, Any]] = {}
    for name, value in fields.items():
        detail = json.loads(value)
        by_name[name] = detail
        stage, _, agency = name.partition(":")
        rest = {k: v for k, v in detail.items() if k != "at"}
        views.append(StageView(stage=stage, agency=agency or None, at=detail["at"], detail=rest))
    views.sort(key=_stage_key)
    handoffs = []
    for view in views:
        if view.stage != "handoff" or view.agency is None:
            continue
        a = view.agency
        ack = by_name.get(f"acknowledged:{a}")
        handoffs.append(HandoffView(
            agency=a, why=view.detail["why"], at=view.at,
            acknowledged_at=ack["at"] if ack else None,
            acknowledged_after_hours=ack["afterHours"] if ack else None,
            outcome=by_name.get(f"outcome:{a}", {}).get("outcome"),
            sla_breaches=sum(1 for lvl in (1, 2) if f"sla_breach_{lvl}:{a}" in by_name),
            renotified=f"renotified:{a}" in by_name,
            escalated_to=by_name.get(f"escalated:{a}", {}).get("to"),
        ))
    triaged = by_name.get("triaged", {})
    routed = by_name.get("routed", {})
    primary = next((h for h in handoffs if h.agency == routed.get("agency")), None)
    return Timeline(
        report_id=report_id, stages=views, handoffs=handoffs,
        lane=triaged.get("lane") or by_name.get("submitted", {}).get("lane"),
        priority=triaged.get("priority"), disposition=triaged.get("disposition"),
        actionability=triaged.get("actionability"), bundle=triaged.get("bundle"),
        agency=routed.get("agency"),
        acknowledged=bool(primary and primary.acknowledged_at),
        acknowledged_after_hours=primary.acknowledged_after_hours if primary else None,
        outcome=primary.outcome if primary else None,
        unassigned_reasons=by_name["unassigned"]["reasons"] if "unassigned" in by_name else None,
    )


class GapRow(_Out):
    """Cases handed to one agency, or in one lane, and what is known of them afterwards."""

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

    def count(name: str) -> int:
        return int(totals.get(name, 0))

    return Gap(
        submitted=count("submitted"), triaged=count("triaged"), routed=count("routed"),
        forwarded=overall.forwarded, acknowledged=overall.acknowledged,
        outcome_known=overall.outcome_known, unassigned=overall.unassigned,
        offered_to_federal=count("offered"), bundled=count("bundled"),
        sla_breaches=count("sla_breaches"), renotified=count("renotified"),
        escalations=count("escalations"), dead_letters=count("dead_letters"),
        no_ack_share=overall.no_ack_share,
        open=OpenCases(count=open_count, oldest_hours=oldest_open_hours),
        by_agency=[gap_row(name, c) for name, c in by_agency.items() if c],
        by_lane=[gap_row(name, by_lane.get(name, {})) for name in LANES],
    )
