"""A report's timeline: its stages in time order, its handoffs, the reads of its body, and the
summary a reader wants first."""

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import Field

from services.tracker.domain.steps import STAGE_ORDER
from shared.schemas.camel import CamelView


class StageView(CamelView):
    stage: str
    agency: str | None
    at: datetime
    detail: dict[str, Any]


class HandoffView(CamelView):
    agency: str
    why: str
    at: datetime
    acknowledged_at: datetime | None
    acknowledged_after_hours: float | None
    outcome: str | None
    sla_breaches: int
    dark: bool  # breached and still not acknowledged
    renotified: bool
    escalated_to: str | None


class NoticeView(CamelView):
    """A deconfliction notice about this report: its agency told of a linked case at another."""

    agency: str
    other_report: int
    other_agency: str
    at: datetime
    acknowledged_at: datetime | None


class LinkView(CamelView):
    """A report linked to this one, as the router found it."""

    report_id: int
    agency: str | None = Field(description="The agency holding it when this one was routed.")
    bases: list[str] = Field(description="prior-report, esp-account, email, phone, device, ip.")

    @classmethod
    def of(cls, link: dict[str, Any]) -> "LinkView":
        """From the router's CaseLink as the ledger keeps it."""
        return cls(report_id=link["report_id"], agency=link.get("agency_id"),
                   bases=link.get("bases", []))


class GroupMember(CamelView):
    report_id: int
    agency: str | None = Field(description="The agency holding its case; none when nobody does.")


class Timeline(CamelView):
    report_id: int
    esp: str | None
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
    group: int | None = Field(default=None, description="Its link group (the smallest report id).")
    group_size: int = 1
    links: list[LinkView] = Field(default_factory=list, description="Reports linked to it when "
                                  "it was routed: id, agency holding it, bases.")
    group_members: list[GroupMember] = Field(default_factory=list, description="Its link group "
                                             "now, with the agency holding each report.")
    notices: list[NoticeView] = Field(default_factory=list)
    preserve_until: datetime | None = None


def _stage_key(view: StageView) -> tuple[datetime, int]:
    return view.at, STAGE_ORDER.index(view.stage) if view.stage in STAGE_ORDER else 99


READ_DETAIL = ("who", "role", "route", "reason")


def read_stage(read: Mapping[str, Any]) -> StageView:
    """A read of the report's body (an access log entry) as a stage: `read`, by whom (the agency,
    for an agency's read), through which route, and an admin's reason."""
    detail = {k: read[k] for k in READ_DETAIL if read.get(k) is not None}
    return StageView(stage="read", agency=read["who"] if read["role"] == "agency" else None,
                     at=read["at"], detail=detail)


def timeline(report_id: int, fields: dict[str, str],
             reads: Sequence[Mapping[str, Any]] = ()) -> Timeline:
    """A report's stages in time order (the reads of its body among them), its handoffs, and the
    summary a reader wants first."""
    views = [read_stage(read) for read in reads]
    by_name: dict[str, dict[str, Any]] = {}
    for name, value in fields.items():
        detail = json.loads(value)
        by_name[name] = detail
        stage, _, case = name.partition(":")
        agency = case.partition(":")[0]
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
            dark=f"sla_breach_1:{a}" in by_name and not ack,
            renotified=f"renotified:{a}" in by_name,
            escalated_to=by_name.get(f"escalated:{a}", {}).get("to"),
        ))
    triaged = by_name.get("triaged", {})
    routed = by_name.get("routed", {})
    placed = routed or by_name.get("unassigned", {})
    notices = [NoticeView(agency=v.agency or "", other_report=v.detail["otherReport"],
                          other_agency=v.detail["otherAgency"], at=v.at,
                          acknowledged_at=by_name.get(f"notice_ack:{v.agency}:"
                                                      f"{v.detail['otherReport']}", {}).get("at"))
               for v in views if v.stage == "notice"]
    preserved = next((h.get("preserveUntil") for n, h in by_name.items()
                      if n.startswith("handoff:") and h.get("preserveUntil")), None)
    primary = next((h for h in handoffs if h.agency == routed.get("agency")), None)
    return Timeline(
        report_id=report_id, stages=views, handoffs=handoffs,
        esp=by_name.get("submitted", {}).get("esp") or triaged.get("esp"),
        lane=triaged.get("lane") or by_name.get("submitted", {}).get("lane"),
        priority=triaged.get("priority"), disposition=triaged.get("disposition"),
        actionability=triaged.get("actionability"), bundle=triaged.get("bundle"),
        agency=routed.get("agency"),
        acknowledged=bool(primary and primary.acknowledged_at),
        acknowledged_after_hours=primary.acknowledged_after_hours if primary else None,
        outcome=primary.outcome if primary else None,
        unassigned_reasons=by_name["unassigned"].get("reasons", []) if "unassigned" in by_name
        else None,
        group=placed.get("group"), group_size=placed.get("groupSize", 1),
        links=[LinkView.of(x) for x in placed.get("links", [])],
        notices=notices, preserve_until=preserved,
    )
