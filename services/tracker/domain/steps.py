"""What each event records in the ledger: a stage of the report's timeline, and what it moves.

A report's timeline is a set of stages, each recorded once. Stages about one agency's case carry
the agency in their name (`handoff:icac-ca`, `acknowledged:icac-ca`), because one report can be
handed to several agencies (a federal partner as well, an escalation, an offer when unassigned).
A step is recorded only the first time its stage is seen: a late duplicate moves nothing.

Counts move in every dimension the step belongs to: all, its agency, its lane, its ESP.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from services.tracker.domain.policy import PRIORITY_OF_LANE, Policy
from services.tracker.domain.stats import SCORE_BOUNDS, bucket_of
from shared.schemas.events import (
    CaseAcknowledged,
    CaseEscalated,
    CaseOutcomeReported,
    CaseReason,
    CaseRenotified,
    Deconfliction,
    LegalProcessRecorded,
    PreservationExpiring,
    ReportRouted,
    ReportSubmitted,
    ReportTriaged,
    ReportUnassigned,
    SlaBreached,
)
from shared.schemas.views import ReportTriagedSummary

# Stages of one event share a time; this order breaks the tie (an escalation before the handoff
# it causes).
STAGE_ORDER = ("submitted", "triaged", "routed", "unassigned", "sla_breach_1", "renotified",
               "sla_breach_2", "escalated", "handoff", "notice", "acknowledged", "notice_ack",
               "preservation_warning", "legal_process", "outcome", "preservation_expired")

# The tracker reads submitted and triaged reports without their bodies: it records what happened.
ReportEvent = (
    ReportSubmitted | ReportTriagedSummary | ReportRouted | ReportUnassigned  # type: ignore[valid-type]
    | CaseAcknowledged | CaseOutcomeReported | SlaBreached | CaseRenotified | CaseEscalated
    | PreservationExpiring | LegalProcessRecorded
)

Kind = Literal["submitted", "triaged", "routed", "unassigned", "handoff", "acknowledged",
               "outcome", "breach", "renotified", "escalated", "notice", "notice_ack",
               "preservation_warning", "legal_process"]


@dataclass(frozen=True)
class Quality:
    """What a triaged report tells of its ESP's data quality."""

    score: int
    missing: tuple[str, ...]

    @property
    def score_bucket(self) -> int:
        return bucket_of(self.score, SCORE_BOUNDS)


@dataclass(frozen=True)
class Step:
    """One stage of a report's timeline and what recording it moves."""

    kind: Kind
    stage: str
    detail: dict[str, Any]
    at: float  # when it happened (epoch seconds): its simulated hour in the series
    counts: tuple[str, ...] = ()
    amounts: tuple[tuple[str, int], ...] = ()  # counted by more than one
    agency_id: str | None = None
    lane: str | None = None
    esp: str | None = None
    why: CaseReason | None = None
    hours: float | None = None  # acknowledged, outcome: simulated hours since the handoff
    deadline: float | None = None  # handoff: when the case goes dark unacknowledged (wall time)
    level: int | None = None  # breach
    reasons: tuple[str, ...] = ()  # unassigned
    quality: Quality | None = None  # triaged
    series: tuple[str, ...] = field(default=())  # the time series it moves
    report_id: int | None = None  # a stage of another report's timeline (a deconfliction notice)
    preserve_until: float | None = None  # handoff: when the report's content stops being kept
    group_size: int = 1  # handoff: reports in the report's link group

    @property
    def case(self) -> str | None:
        return self.agency_id


def handoff(agency_id: str, why: CaseReason, at: float, at_text: str, lane: str, priority: int,
            jurisdiction: str, incident_type: str, esp: str, policy: Policy,
            extra: tuple[str, ...] = (), unviewed_files: int = 0,
            preserve_until: datetime | None = None, group_size: int = 1) -> Step:
    """A case handed to an agency: counted as forwarded, open until the agency acknowledges it,
    and watched until it does or goes dark past the SLA of its lane, and until its report's
    preservation ends. Files the ESP did not view are counted with it: opening them needs legal
    process."""
    return Step(
        "handoff", f"handoff:{agency_id}",
        {"at": at_text, "why": why, "lane": lane, "priority": priority,
         "jurisdiction": jurisdiction, "incidentType": incident_type, "esp": esp,
         "filesNeedingLegalProcess": unviewed_files,
         "preserveUntil": preserve_until.isoformat() if preserve_until else None,
         "groupSize": group_size},
        at, ("forwarded", *extra), agency_id=agency_id, lane=lane, esp=esp, why=why,
        deadline=policy.deadline(lane, at), series=("forwarded",),
        amounts=(("files_needing_legal_process", unviewed_files),) if unviewed_files else (),
        preserve_until=preserve_until.timestamp() if preserve_until else None,
        group_size=group_size,
    )


def notice(n: Deconfliction, group: int | None, at: float, at_text: str, lane: str,
           esp: str) -> Step:
    """A deconfliction notice, on the timeline of the case it is about (its agency told of the
    linked case at another)."""
    return Step("notice", f"notice:{n.agency_id}:{n.other_report_id}",
                {"at": at_text, "otherReport": n.other_report_id, "otherAgency": n.other_agency_id,
                 "group": group}, at, ("notices_sent",), agency_id=n.agency_id, lane=lane, esp=esp,
                report_id=n.report_id)


def _links(event: ReportRouted | ReportUnassigned) -> dict[str, Any]:
    return {"group": event.group, "groupSize": event.group_size,
            "links": [link.model_dump(mode="json") for link in event.links]}


def steps_for(event: ReportEvent, policy: Policy) -> list[Step]:
    """The ledger steps of one event; each stage is recorded once per report."""
    at = event.occurred_at.timestamp()
    text = event.occurred_at.isoformat()
    match event:
        case ReportSubmitted():
            return [Step("submitted", "submitted", {"at": text, "lane": event.lane, "esp": event.esp},
                         at, ("submitted",), esp=event.esp, series=("submitted",))]
        case ReportTriaged() | ReportTriagedSummary():
            member = event.bundle is not None and event.bundle.role == "member"
            counts = ["triaged"]
            if event.disposition == "informational":
                counts.append("informational")
            if member:
                counts.append("bundled")
            return [Step("triaged", "triaged", {
                "at": text, "priority": event.priority, "disposition": event.disposition,
                "lane": event.lane, "reasons": [r.model_dump() for r in event.reasons],
                "actionability": event.actionability.score,
                "missing": event.actionability.missing, "labels": event.labels,
                "knownFiles": event.known_files, "novelFiles": event.novel_files,
                "bundle": event.bundle.model_dump() if event.bundle else None, "esp": event.esp,
            }, at, tuple(counts), lane=event.lane, esp=event.esp,
                quality=Quality(event.actionability.score, tuple(event.actionability.missing)))]
        case ReportRouted():
            common = dict(at=at, at_text=text, lane=event.lane, priority=event.priority,
                          jurisdiction=event.jurisdiction, incident_type=event.incident_type,
                          esp=event.esp, policy=policy,
                          unviewed_files=event.files_needing_legal_process,
                          preserve_until=event.preserve_until, group_size=event.group_size)
            counts = ["routed"]
            if event.why == "linked":
                counts.append("routed_by_group")
            if event.deconfliction:
                counts.append("deconflictions")
            return [
                Step("routed", "routed", {
                    "at": text, "agency": event.agency_id, "why": event.why,
                    "jurisdiction": event.jurisdiction,
                    "region": event.region, "basis": event.basis, "confidence": event.confidence,
                    "conflicts": event.conflicts, "lane": event.lane,
                    "alsoNotified": [n.model_dump() for n in event.also_notified],
                    "lawEnforcement": event.law_enforcement.model_dump()
                    if event.law_enforcement else None,
                    "deconfliction": [n.model_dump() for n in event.deconfliction],
                    **_links(event),
                }, at, tuple(counts), lane=event.lane, esp=event.esp),
                handoff(event.agency_id, event.why, **common),
                *[handoff(n.agency_id, n.why, **common) for n in event.also_notified],
                *[notice(n, event.group, at, text, event.lane, event.esp)
                  for n in event.deconfliction],
            ]
        case ReportUnassigned():
            steps = [Step("unassigned", "unassigned", {
                "at": text, "reasons": event.reasons, "lane": event.lane,
                "offeredTo": event.offered_to, **_links(event)}, at, ("unassigned",),
                lane=event.lane, esp=event.esp, reasons=tuple(event.reasons))]
            if event.offered_to:
                steps.append(handoff(event.offered_to, "unassigned_offer", at, text, event.lane,
                                     event.priority, "unknown", "", event.esp, policy,
                                     extra=("offered",),
                                     unviewed_files=event.files_needing_legal_process,
                                     preserve_until=event.preserve_until,
                                     group_size=event.group_size))
            return steps
        case CaseAcknowledged() if event.why == "deconfliction" and event.notice:
            # a notice acknowledged: its agency knows of the linked case at the other
            return [Step("notice_ack", f"notice_ack:{event.agency_id}:"
                                       f"{event.notice.other_report_id}",
                         {"at": text, "afterHours": event.after_hours,
                          "otherReport": event.notice.other_report_id}, at,
                         ("notices_acknowledged",), agency_id=event.agency_id, lane=event.lane,
                         esp=event.esp, why=event.why, hours=event.after_hours)]
        case CaseAcknowledged():
            taken = ("offers_taken",) if event.why == "unassigned_offer" else ()
            return [Step("acknowledged", f"acknowledged:{event.agency_id}",
                         {"at": text, "afterHours": event.after_hours}, at,
                         ("acknowledged", *taken), agency_id=event.agency_id, lane=event.lane,
                         esp=event.esp, why=event.why, hours=event.after_hours,
                         series=("acknowledged",))]
        case CaseOutcomeReported():
            return [Step("outcome", f"outcome:{event.agency_id}", {
                "at": text, "outcome": event.outcome, "afterHours": event.after_hours,
            }, at, ("outcome",), agency_id=event.agency_id, lane=event.lane, esp=event.esp,
                why=event.why, hours=event.after_hours)]
        case PreservationExpiring():
            return [Step("preservation_warning", f"preservation_warning:{event.agency_id}",
                         {"at": text, "preserveUntil": event.preserve_until.isoformat(),
                          "daysLeft": event.days_left}, at, ("preservation_warnings",),
                         agency_id=event.agency_id, lane=event.lane, esp=event.esp)]
        case LegalProcessRecorded():
            return [Step("legal_process", f"legal_process:{event.agency_id}",
                         {"at": text, "process": event.process}, at, ("legal_process",),
                         agency_id=event.agency_id, lane=event.lane, esp=event.esp)]
        case SlaBreached():
            return [Step("breach", f"sla_breach_{event.level}:{event.agency_id}",
                         {"at": text, "openHours": event.open_hours}, at, ("sla_breaches",),
                         agency_id=event.agency_id, lane=event.lane, esp=event.esp, why=event.why,
                         level=event.level, series=("newly_dark",) if event.level == 1 else ())]
        case CaseRenotified():
            return [Step("renotified", f"renotified:{event.agency_id}", {"at": text},
                         at, ("renotified",), agency_id=event.agency_id, lane=event.lane,
                         esp=event.esp)]
        case CaseEscalated():
            return [
                Step("escalated", f"escalated:{event.from_agency}",
                     {"at": text, "to": event.to_agency}, at, ("escalations",),
                     agency_id=event.from_agency, lane=event.lane, esp=event.esp),
                handoff(event.to_agency, "escalation", at, text, event.lane,
                        PRIORITY_OF_LANE[event.lane], "", "", event.esp, policy,
                        preserve_until=event.preserve_until),
            ]
    raise TypeError(f"no ledger step for {type(event).__name__}")


def sla_breach(report_id: int, agency_id: str, handoff_detail: dict[str, Any], level: int,
               open_hours: float, policy: Policy) -> SlaBreached | None:
    """The breach to announce for a case still unacknowledged past its deadline, or None when the
    case has been breached as often as it ever will be."""
    lane = handoff_detail.get("lane", "p1")
    why = handoff_detail.get("why", "jurisdiction")
    if level > policy.breach_levels(lane, why):
        return None
    return SlaBreached(
        report_id=report_id, producer="tracker", esp=handoff_detail.get("esp", ""),
        agency_id=agency_id, lane=lane, priority=handoff_detail.get("priority",
                                                                     PRIORITY_OF_LANE[lane]),
        why=why, jurisdiction=handoff_detail.get("jurisdiction", ""),
        incident_type=handoff_detail.get("incidentType", ""), level=level,  # type: ignore[arg-type]
        open_hours=round(open_hours, 2), preserve_until=handoff_detail.get("preserveUntil"),
    )
