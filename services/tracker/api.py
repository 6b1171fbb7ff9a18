"""The tracker's HTTP API: timelines and the gap for analysts; dead letters, replay, the access
log and a report's body (with a reason) for admins."""

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi import Response as HttpResponse
from pydantic import BaseModel, Field
from redis.exceptions import RedisError

from services.tracker import domain
from services.tracker.contract import (
    ACCESS_ROUTES,
    READ_REASONS,
    AccessRoute,
    ReadReason,
    ReportBodyRead,
)
from services.tracker.deps import Tracker, TrackerDeps
from shared import bodies, devkeys
from shared.auth import Caller, Role, bearer, match
from shared.http import responses, unavailable
from shared.logging import get_logger
from shared.schemas.camel import CamelModel
from shared.service import dependency

log = get_logger(__name__)

ANALYST_TEXT = ("An analyst's key (TIPLINE_ANALYST_KEYS; development key "
                f"`{devkeys.ANALYST_KEY}`). An admin key is accepted too.")
ADMIN_TEXT = f"An admin's key (TIPLINE_ADMIN_KEYS; development key `{devkeys.ADMIN_KEY}`)."


_tracker = dependency(Tracker)


def _readers(request: Request) -> tuple[dict[str, str], float]:
    tracker = _tracker(request)
    return tracker.readers, tracker.clock.now()


def _admins(request: Request) -> tuple[dict[str, str], float]:
    tracker = _tracker(request)
    return tracker.admin_keys, tracker.clock.now()


Analyst = Annotated[str, Depends(bearer("AnalystKey", ANALYST_TEXT, _readers, sessions=True))]
Admin = Annotated[str, Depends(bearer("AdminKey", ADMIN_TEXT, _admins))]

router = APIRouter(prefix="/v1", tags=["tracker"])


@router.get("/reports/{report_id}", response_model=domain.Timeline, response_model_by_alias=True,
            summary="A report's timeline: every stage with its time, and what is known after it.",
            responses=responses(401, 404, 422, 503))
async def get_report(report_id: int, tracker: TrackerDeps, _who: Analyst) -> domain.Timeline:
    fields = await tracker.reads.timeline_fields(report_id)
    if not fields:
        raise HTTPException(status_code=404, detail=f"no report {report_id} in the ledger")
    reads = await tracker.access.of_report(report_id)
    found = domain.timeline(report_id, fields, [r.model_dump(mode="json") for r in reads])
    group, members = await tracker.reads.group_of(report_id)
    if group is None:
        return found
    # the group as it is now: reports linked after this one was routed are in it too
    return found.model_copy(update={"group": group, "group_size": len(members),
                                    "group_members": [domain.GroupMember(report_id=r, agency=a)
                                                      for r, a in members]})


async def served_body(tracker: Tracker, report_id: int, caller: Caller, route: AccessRoute,
                      reason: ReadReason | None = None) -> bytes | None:
    """A report's body, its read recorded in the access log first; None when the body is gone
    (nothing recorded). A read that cannot be recorded is not served: 503."""
    read = ReportBodyRead(report_id=report_id, who=caller.name, role=caller.role, route=route,
                          reason=reason, at=datetime.fromtimestamp(tracker.clock.now(), UTC))
    try:
        body = await tracker.access.read_body(read)
    except RedisError as exc:
        log.warning("report body not served: its read could not be recorded",
                    report_id=report_id, route=route, error=type(exc).__name__)
        raise unavailable("the read could not be recorded in the access log: the report was "
                          "not served") from None
    if body is not None:
        log.info("report body read", report_id=report_id, who=caller.text, route=route,
                 reason=reason)
        return bodies.unpack(body)
    return None


def body_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The answers of a route serving a report's body: the report, these errors, 410 when it is
    no longer kept."""
    return {200: {"description": "The report (FiledReport, JSON).", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/FiledReport"}}}},
        **responses(*codes), 410: {"description": "The report is no longer kept."}}


_REASONS = "; ".join(f"`{code}`: {meaning}" for code, meaning in READ_REASONS.items())


@router.get("/reports/{report_id}/body", response_class=HttpResponse,
            summary="A report's body, as the ESP filed it (admin, with a reason): the one route "
            "by which anyone but the agency holding a case reads a report.",
            description="For an admin only (analysts read the ledger, never a body). `reason` is "
            f"a code, never free text, so that no personal value reaches the log: {_REASONS}. "
            "The read (who, which report, when, route `admin-body`, the reason) is recorded in "
            "the access log before the report is served, and shown on the report's timeline; "
            "when it cannot be recorded, nothing is served (503). 404: no report stored under "
            "this id; 410: the report is in the ledger but no longer kept.",
            responses=body_responses(401, 404, 422, 503))
async def report_body(tracker: TrackerDeps, who: Admin, report_id: Annotated[int, Path(ge=1)],
                      reason: Annotated[ReadReason, Query(description="Why the report is read: "
                                                          "one of the codes above.")]
                      ) -> HttpResponse:
    body = await served_body(tracker, report_id, Caller(who, "admin"), "admin-body", reason)
    if body is None:
        if await tracker.reads.timeline_fields(report_id):
            raise HTTPException(status_code=410, detail=f"report {report_id} is no longer kept")
        raise HTTPException(status_code=404, detail=f"no report {report_id} is stored")
    return HttpResponse(body, media_type="application/json")


class AccessEntry(CamelModel):
    """One read of a report's body."""

    id: str = Field(description="The entry's id: what `before` takes for the next page.")
    report_id: int
    who: str = Field(description="The caller's configured name (an agency id, an admin account).")
    role: Role
    route: AccessRoute = Field(description=", ".join(f"{name}: {path}"
                                                     for name, path in ACCESS_ROUTES.items()))
    reason: ReadReason | None = Field(description="An admin's reason code; none for an agency.")
    at: datetime


@router.get("/access-log", response_model=list[AccessEntry], response_model_by_alias=True,
            summary="Every read of a report's body, newest first (admin).",
            description="Appended to before each body is served, never changed; kept to its "
            "newest TIPLINE_ACCESS_LOG_MAX_ENTRIES. `before` (the id of the last one of a page) "
            "gives the next page.", responses=responses(401, 422, 503))
async def get_access_log(tracker: TrackerDeps, _who: Admin,
                         limit: int = Query(50, ge=1, le=1000),
                         before: str | None = Query(None, pattern=r"^\d{1,20}-\d{1,20}$")
                         ) -> list[AccessEntry]:
    return [AccessEntry(id=entry_id, report_id=r.report_id, who=r.who, role=r.role, route=r.route,
                        reason=r.reason, at=r.at)
            for entry_id, r in await tracker.access.recent(limit, before)]


@router.get("/gap", response_model=domain.Gap, response_model_by_alias=True,
            summary="The handoff gap: forwarded, acknowledged, outcome known, dark, lost sight; "
            "time to acknowledgement and outcome; per agency, lane and ESP.",
            responses=responses(401, 503))
async def get_gap(tracker: TrackerDeps, _who: Analyst) -> domain.Gap:
    t = tracker.clock.now()
    kinds = tracker.agency_kinds
    f = await tracker.reads.figures(list(kinds), t)
    oldest = round(tracker.policy.hours_between(f.oldest_open, t), 2) if f.oldest_open else None
    return domain.gap(f.totals, f.agencies, f.lanes, f.esps, f.reasons, open_count=f.open_count,
                      oldest_open_hours=oldest, dark=f.dark, lost_sight=f.lost_sight,
                      policy=tracker.policy, agency_kinds=kinds, link_stats=f.link_stats,
                      at_risk=f.at_risk)


@router.get("/gap/histograms", response_model=list[domain.Histogram], response_model_by_alias=True,
            summary="Time to acknowledgement, bucket by bucket, overall and per priority lane, "
            "with each lane's SLA.", responses=responses(401, 503))
async def get_histograms(tracker: TrackerDeps, _who: Analyst) -> list[domain.Histogram]:
    f = await tracker.reads.figures(list(tracker.agency_kinds), tracker.clock.now())
    return domain.histograms(f.lanes, tracker.policy)


@router.get("/gap/series", response_model=list[domain.SeriesPoint], response_model_by_alias=True,
            summary="Per simulated hour, up to now: reports submitted, cases forwarded, "
            "acknowledged and newly dark.", responses=responses(401, 422, 503))
async def get_series(tracker: TrackerDeps, _who: Analyst,
                     hours: int = Query(48, ge=1, le=2160)) -> list[domain.SeriesPoint]:
    current = int(tracker.clock.now() // tracker.policy.seconds_per_hour)
    wanted = list(range(current - hours + 1, current + 1))
    return domain.series(await tracker.reads.series(domain.SERIES, wanted), wanted)


class NoticeOnCase(CamelModel):
    other_report: int
    other_agency: str
    at: datetime
    acknowledged: bool


class Case(CamelModel):
    """A case as its agency (or an analyst) sees it."""

    report_id: int
    agency: str
    handed_at: datetime
    why: str | None
    lane: str | None
    priority: int | None
    jurisdiction: str | None
    incident_type: str | None
    esp: str | None
    waiting_hours: float | None = Field(description="Simulated hours since the handoff, while "
                                        "unacknowledged.")
    acknowledged_at: datetime | None
    acknowledged_after_hours: float | None
    outcome: str | None
    dark: bool
    sla_breaches: int
    group: int | None = Field(default=None, description="Its report's link group.")
    group_size: int = 1
    links: list[domain.LinkView] = Field(default_factory=list, description="Reports linked to it "
                                      "when it was routed, the agencies holding them, the bases.")
    deconfliction: list[NoticeOnCase] = Field(default_factory=list, description="Linked cases "
                                              "at other agencies this agency was told of.")
    preserve_until: datetime | None = Field(default=None, description="When the platform's "
                                            "preservation of the report's content ends.")
    preservation_days_left: float | None = Field(default=None, description="Simulated days.")
    preservation_expired: bool = False
    files_needing_legal_process: int = Field(default=0, description="Files the platform did not "
                                             "view: withheld from the report until the agency "
                                             "records legal process.")
    legal_process: bool = Field(default=False, description="The agency recorded legal process.")


class CasePage(BaseModel):
    total: int
    offset: int
    cases: list[Case]


async def cases_of(tracker: Tracker, pairs: list[tuple[int, str, float]]) -> list[Case]:
    timelines = await tracker.reads.timelines([report_id for report_id, _, _ in pairs])
    t = tracker.clock.now()
    cases = []
    for (report_id, agency, handed), fields in zip(pairs, timelines, strict=True):
        detail = json.loads(fields.get(f"handoff:{agency}", "{}"))
        ack = json.loads(fields.get(f"acknowledged:{agency}", "null") or "null")
        outcome = json.loads(fields.get(f"outcome:{agency}", "null") or "null")
        breaches = sum(1 for level in (1, 2) if f"sla_breach_{level}:{agency}" in fields)
        placed = json.loads(fields.get("routed") or fields.get("unassigned") or "{}")
        until = detail.get("preserveUntil")
        left = (tracker.policy.days_between(t, datetime.fromisoformat(until).timestamp())
                if until else None)
        notices = [NoticeOnCase(other_report=n["otherReport"], other_agency=n["otherAgency"],
                                at=n["at"], acknowledged=f"notice_ack:{agency}:{n['otherReport']}"
                                in fields)
                   for name, raw in sorted(fields.items()) if name.startswith(f"notice:{agency}:")
                   for n in [json.loads(raw)]]
        cases.append(Case(
            report_id=report_id, agency=agency, handed_at=detail.get("at") or
            datetime.fromtimestamp(handed, UTC), why=detail.get("why"), lane=detail.get("lane"),
            priority=detail.get("priority"), jurisdiction=detail.get("jurisdiction"),
            incident_type=detail.get("incidentType"), esp=detail.get("esp"),
            waiting_hours=None if ack else round(tracker.policy.hours_between(handed, t), 2),
            acknowledged_at=ack["at"] if ack else None,
            acknowledged_after_hours=ack["afterHours"] if ack else None,
            outcome=outcome["outcome"] if outcome else None, dark=bool(breaches) and not ack,
            sla_breaches=breaches, group=placed.get("group"),
            group_size=placed.get("groupSize", 1),
            links=[domain.LinkView.of(x) for x in placed.get("links", [])],
            deconfliction=notices, preserve_until=until,
            preservation_days_left=round(max(left, 0.0), 2) if left is not None else None,
            preservation_expired=f"preservation_expired:{agency}" in fields,
            files_needing_legal_process=detail.get("filesNeedingLegalProcess", 0),
            legal_process=f"legal_process:{agency}" in fields))
    return cases


@router.get("/gap/dark", response_model=CasePage, response_model_by_alias=True,
            summary="Dark cases: forwarded and unacknowledged past the SLA of their priority, "
            "longest waiting first.", responses=responses(401, 422, 503))
async def get_dark(tracker: TrackerDeps, _who: Analyst, offset: int = Query(0, ge=0, le=1_000_000),
                   limit: int = Query(50, ge=1, le=200)) -> CasePage:
    total, page = await tracker.reads.dark_cases(offset, limit)
    return CasePage(total=total, offset=offset, cases=await cases_of(tracker, page))


class GroupBacklog(CamelModel):
    stream: str
    group: str
    lag: int = Field(description="Entries not yet read by the group.")
    pending: int = Field(description="Entries read and not yet acknowledged.")
    entries_read: int = Field(description="Entries the group has read so far: its rate is the "
                              "change of this over time.")
    consumers: int = Field(description="Consumers (processes) that read or claimed entries in "
                           "the last ten seconds.")


@router.get("/pipeline", response_model=list[GroupBacklog], response_model_by_alias=True,
            summary="Every consumer group's backlog, progress and live consumers, stream by "
            "stream (agency inboxes only when they hold something).",
            responses=responses(401, 503))
async def get_pipeline(tracker: TrackerDeps, _who: Analyst) -> list[GroupBacklog]:
    return [GroupBacklog(stream=d.stream, group=d.group, lag=d.lag, pending=d.pending,
                         entries_read=d.entries_read, consumers=d.consumers)
            for d in await tracker.group_states()
            if not d.stream.endswith(":inbox") or d.lag or d.pending]


class DeadLetter(CamelModel):
    """A message that could not be processed; its payload (the original entry, which may hold a
    whole report) only for an admin who asks for it."""

    id: str = Field(description="The dead letter's entry id: what show and replay take.")
    occurred_at: str
    source_stream: str
    source_entry_id: str
    group: str
    reason: str
    deliveries: int
    replayed: bool
    payload: str | None = None


def _letter(entry_id: str, letter: dict[str, Any], replayed: bool, payload: bool) -> DeadLetter:
    return DeadLetter(id=entry_id, occurred_at=letter["occurred_at"],
                      source_stream=letter["source_stream"],
                      source_entry_id=letter["source_entry_id"], group=letter["group"],
                      reason=letter["reason"], deliveries=letter["deliveries"], replayed=replayed,
                      payload=letter["payload"] if payload else None)


@router.get("/dead-letters", response_model=list[DeadLetter], response_model_by_alias=True,
            summary="The most recent dead letters, newest first, without their payloads.",
            description="`payload=true` includes each original entry; that takes an admin key. "
            "`before` (the id of the last one of a page) gives the next page.",
            responses=responses(401, 403, 422, 503))
async def list_dead_letters(request: Request, tracker: TrackerDeps, _who: Analyst,
                            limit: int = Query(50, ge=1, le=1000),
                            payload: bool = Query(False),
                            before: str | None = Query(None, pattern=r"^\d{1,20}-\d{1,20}$")
                            ) -> list[DeadLetter]:
    if payload:
        _require_admin(request, tracker)
    found = await tracker.dead_letters.recent(limit, before)
    return [_letter(i, letter, replayed, payload) for i, letter, replayed in found]


@router.get("/dead-letters/{letter_id}", response_model=DeadLetter, response_model_by_alias=True,
            summary="One dead letter with its payload (admin).",
            responses=responses(401, 404, 503))
async def show_dead_letter(letter_id: str, tracker: TrackerDeps, _who: Admin) -> DeadLetter:
    letter, replayed = await _find(tracker, letter_id)
    return _letter(letter_id, letter, replayed, payload=True)


class Replayed(CamelModel):
    id: str
    stream: str
    entry_id: str


@router.post("/dead-letters/{letter_id}/replay", response_model=Replayed,
             response_model_by_alias=True,
             summary="Put a dead letter's original entry back on its source stream, once (admin).",
             description="For after the fix: the entry is handled again by the group that failed "
             "on it (and by the stream's other groups, whose effects are idempotent by event id). "
             "A second replay of the same dead letter is 409.",
             responses=responses(401, 404, 409, 503))
async def replay_dead_letter(letter_id: str, tracker: TrackerDeps, _who: Admin) -> Replayed:
    letter, _ = await _find(tracker, letter_id)
    if not tracker.replayable(letter["source_stream"]):
        raise HTTPException(status_code=409, detail=f"{letter['source_stream']} is not a stream "
                            "of this stack: not replayed")
    new_id = await tracker.dead_letters.replay(letter_id, letter)
    if new_id is None:
        raise HTTPException(status_code=409, detail=f"dead letter {letter_id} was replayed before")
    return Replayed(id=letter_id, stream=letter["source_stream"], entry_id=new_id)


async def _find(tracker: Tracker, letter_id: str) -> tuple[dict[str, Any], bool]:
    if not _is_entry_id(letter_id):
        raise HTTPException(status_code=404, detail=f"no dead letter {letter_id}")
    found = await tracker.dead_letters.get(letter_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no dead letter {letter_id}")
    return found


def _is_entry_id(text: str) -> bool:
    ms, _, seq = text.partition("-")
    return ms.isdigit() and seq.isdigit() and len(text) < 42


def _require_admin(request: Request, tracker: Tracker) -> None:
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    if match(tracker.admin_keys, token) is None:
        raise HTTPException(status_code=403, detail="payloads of dead letters take an admin key")
