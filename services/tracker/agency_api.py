"""The agency side over HTTP: an agency's queue, the body of a report it holds a case of (read
by that agency alone, and recorded in the access log), and its responses (acknowledged, an
outcome), published on the agency responses stream exactly as the simulated agencies' are, so the
ledger has one path. A person playing an agency in a workshop uses it with curl or `tipline agency`."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Security
from fastapi import Response as HttpResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from services.tracker.api import ANALYST_TEXT, CasePage, body_responses, cases_of, served_body
from services.tracker.deps import Tracker, TrackerDeps
from shared import devkeys
from shared.auth import SESSION_COOKIE, Caller, bearer_token
from shared.http import responses
from shared.schemas.camel import CamelModel
from shared.schemas.events import (
    CaseAcknowledged,
    CaseOutcomeReported,
    Deconfliction,
    LegalProcessRecorded,
    Outcome,
    derived_event_id,
)
from shared.service import dependency

router = APIRouter(prefix="/v1/agencies", tags=["agencies"])
_tracker = dependency(Tracker)

AgencyId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$",
                               description="The agency's id in the directory.")]

# What a route of this API lets in besides the agency itself: a queue is metadata, which analysts
# and admins read too; a report's body is the agency's alone; responses are the agency's to give.
Use = Literal["queue", "body", "respond"]


def _caller(use: Use):
    scheme = HTTPBearer(auto_error=False, scheme_name="AgencyKey", description=(
        "An agency's key to its own queue, its cases' reports and its responses "
        "(TIPLINE_AGENCY_KEYS; the development key of icac-wa, the agency a workshop plays, is "
        f"`{devkeys.AGENCY_KEY}`). Reading a queue: {ANALYST_TEXT} A case's report is read with "
        "the key of the agency holding the case only."))

    async def caller(request: Request, agency_id: AgencyId,
                     credentials: HTTPAuthorizationCredentials | None = Security(scheme)) -> Caller:
        tracker = _tracker(request)
        token = credentials.credentials if credentials else bearer_token(
            request.headers.get("authorization"))
        who = tracker.caller(token, request.cookies.get(SESSION_COOKIE))
        if who is not None and who.role == "agency":
            if who.name != agency_id:
                raise HTTPException(status_code=403, detail=f"this key is {who.name}'s, not "
                                    f"{agency_id}'s")
            return who
        if who is not None and who.role in ("analyst", "admin"):
            if use == "queue":
                return who
            if use == "body":
                raise HTTPException(status_code=403, detail="a case's report is read by the "
                                    "agency holding the case; an admin reads a report through "
                                    "GET /v1/reports/{report_id}/body, with a reason")
        raise HTTPException(status_code=401, detail="a valid 'Authorization: Bearer <key>' header "
                            "is required (AgencyKey)", headers={"WWW-Authenticate": 'Bearer '
                                                                'realm="AgencyKey"'})

    return caller


@dataclass(frozen=True)
class HeldCase:
    """A case handed to an agency: its report's timeline and the handoff's detail."""

    report_id: int
    agency_id: str
    fields: dict[str, str]
    handoff: dict[str, Any]

    def has(self, stage: str) -> bool:
        """Whether the case's timeline has this stage of the agency's (`acknowledged`, ...)."""
        return f"{stage}:{self.agency_id}" in self.fields

    def response(self) -> dict[str, Any]:
        """What every response the agency API publishes for the case says of it."""
        return dict(report_id=self.report_id, producer="tracker", esp=self.handoff.get("esp", ""),
                    agency_id=self.agency_id, lane=self.handoff.get("lane", "p3"))


def hours_since(tracker: Tracker, at: str) -> float:
    """Simulated hours from a recorded time (ISO) to now."""
    return round(tracker.policy.hours_between(datetime.fromisoformat(at).timestamp(),
                                              tracker.clock.now()), 3)


async def held_case(tracker: Tracker, report_id: int, agency_id: str) -> HeldCase:
    """The case, or 404 when the report was not handed to the agency."""
    fields = (await tracker.reads.timelines([report_id]))[0]
    handed = fields.get(f"handoff:{agency_id}")
    if handed is None:
        raise HTTPException(status_code=404, detail=f"report {report_id} was not handed to "
                            f"{agency_id}")
    return HeldCase(report_id, agency_id, fields, json.loads(handed))


def _known(tracker: Tracker, agency_id: str) -> None:
    if agency_id not in tracker.agency_kinds:
        raise HTTPException(status_code=404, detail=f"no agency {agency_id} in the directory")


@router.get("/{agency_id}/cases", response_model=CasePage, response_model_by_alias=True,
            summary="An agency's queue: open cases as an investigator orders them (priority, "
            "then the day the report's preservation ends, then larger link groups); "
            "acknowledged and all, oldest first.",
            description="Each case shows its links (the reports, the agencies holding them, the "
            "bases), the deconfliction notices about it, the preservation left, and how many "
            "files the platform did not view (withheld from the report until the agency records "
            "legal process).",
            responses=responses(401, 403, 404, 422, 503))
async def list_cases(tracker: TrackerDeps, agency_id: AgencyId,
                     _caller: Annotated[Caller, Depends(_caller("queue"))],
                     status: Literal["open", "acknowledged", "all"] = Query("open"),
                     offset: int = Query(0, ge=0, le=1_000_000),
                     limit: int = Query(50, ge=1, le=200)) -> CasePage:
    _known(tracker, agency_id)
    if status == "open":
        total, queued = await tracker.reads.agency_queue(agency_id, offset, limit)
        pairs = [(report_id, agency_id, handed) for report_id, handed in queued]
    else:
        total, page = await tracker.reads.agency_cases(agency_id, status, offset, limit)
        pairs = [(report_id, agency_id, handed) for report_id, handed, _ in page]
    return CasePage(total=total, offset=offset, cases=await cases_of(tracker, pairs))


@router.get("/{agency_id}/cases/{report_id}/report", response_class=HttpResponse,
            summary="The report of a case, as the ESP filed it (its files as hashes only): for "
            "the agency holding the case, its read recorded.",
            description="Served from the one stored copy of the report (the claim check), to the "
            "agency holding the case alone: another agency's key, an analyst's and an admin's are "
            "403 (an admin reads a report through GET /v1/reports/{report_id}/body). The case "
            "must have been handed to this agency (404 otherwise). The read is recorded in the "
            "access log (route `agency-case`) before the report is served; when it cannot be, "
            "nothing is served (503). A report is kept while any case of it is open; once every "
            "case is acknowledged, a report older than TIPLINE_REPORT_BODY_TTL_S is gone (410). "
            "Files the platform did not view (fileViewedByEsp false) are withheld until the "
            "agency records legal process for the case (POST .../legal-process): US courts have "
            "held that opening them needs it (United States v. Wilson, 9th Cir. 2021). The "
            "header Tipline-Withheld-Files counts the files left out.",
            responses=body_responses(401, 403, 404, 422, 503))
async def case_report(tracker: TrackerDeps, agency_id: AgencyId,
                      report_id: Annotated[int, Path(ge=1)],
                      caller: Annotated[Caller, Depends(_caller("body"))]) -> HttpResponse:
    case = await held_case(tracker, report_id, agency_id)
    body = await served_body(tracker, report_id, caller, "agency-case")
    if body is None:
        raise HTTPException(status_code=410, detail=f"report {report_id} is no longer kept")
    if case.has("legal_process"):
        return HttpResponse(body, media_type="application/json",
                            headers={"Tipline-Withheld-Files": "0"})
    served, withheld = without_unviewed_files(body)
    return HttpResponse(served, media_type="application/json",
                        headers={"Tipline-Withheld-Files": str(withheld)})


def without_unviewed_files(body: bytes) -> tuple[bytes, int]:
    """The report without the files the platform did not view, and how many were left out."""
    report = json.loads(body)
    files = report.get("files") or []
    kept = [f for f in files if f.get("fileViewedByEsp") is not False]
    if len(kept) == len(files):
        return body, 0
    report["files"] = kept
    return json.dumps(report, separators=(",", ":")).encode(), len(files) - len(kept)


class Response(BaseModel):
    """`{"status": "acknowledged"}`, or `{"status": "outcome", "outcome": ...}`."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["acknowledged", "outcome"]
    outcome: Outcome | None = Field(default=None, description="With status outcome: what came of "
                                    "the case.")


class Recorded(CamelModel):
    report_id: int
    agency: str
    published: list[str] = Field(description="The responses published now; empty when they had "
                                 "been recorded before (a repeated acknowledgement changes nothing).")


@router.post("/{agency_id}/cases/{report_id}/responses", status_code=202, response_model=Recorded,
             response_model_by_alias=True,
             summary="Acknowledge a case, or report its outcome (which acknowledges it too).",
             description="The case must have been handed to this agency (404 otherwise). A second "
             "acknowledgement changes nothing; an outcome before an acknowledgement counts as both; "
             "a different outcome for a case that has one is 409.",
             responses=responses(400, 401, 403, 404, 409, 422, 503))
async def respond(tracker: TrackerDeps, agency_id: AgencyId, report_id: Annotated[int, Path(ge=1)],
                  body: Response, caller: Annotated[Caller, Depends(_caller("respond"))]) -> Recorded:
    if body.status == "outcome" and body.outcome is None:
        raise HTTPException(status_code=422, detail="status outcome needs an outcome")
    case = await held_case(tracker, report_id, agency_id)
    after = hours_since(tracker, case.handoff["at"])
    common = dict(case.response(), why=case.handoff.get("why", "jurisdiction"))
    events: list[CaseAcknowledged | CaseOutcomeReported] = []
    if not case.has("acknowledged"):
        events.append(CaseAcknowledged(
            event_id=derived_event_id(f"{report_id}:{agency_id}", "agency-api:acknowledged"),
            after_hours=after, **common))
    if body.status == "outcome":
        known = case.fields.get(f"outcome:{agency_id}")
        if known and json.loads(known)["outcome"] != body.outcome:
            raise HTTPException(status_code=409, detail="this case already has another outcome")
        if not known:
            events.append(CaseOutcomeReported(
                event_id=derived_event_id(f"{report_id}:{agency_id}", "agency-api:outcome"),
                outcome=body.outcome, after_hours=after, **common))
    return await published(tracker, report_id, agency_id, {
        "acknowledged" if isinstance(e, CaseAcknowledged) else "outcome": e for e in events})


async def published(tracker: Tracker, report_id: int, agency_id: str,
                    events: dict[str, BaseModel]) -> Recorded:
    """Publish an agency's responses through the ledger (by what they record), and say which:
    none when each had been recorded before."""
    if events:
        await tracker.responses.publish(list(events.values()))
    return Recorded(report_id=report_id, agency=agency_id, published=list(events))


class LegalProcess(BaseModel):
    """`{"process": "search-warrant"}`: what the agency obtained for the case."""

    model_config = ConfigDict(extra="forbid")

    process: Literal["search-warrant", "subpoena", "court-order"]


@router.post("/{agency_id}/cases/{report_id}/legal-process", status_code=202,
             response_model=Recorded, response_model_by_alias=True,
             summary="Record legal process for a case: the files the platform did not view are "
             "shown in its report from then on.",
             description="The case must have been handed to this agency (404 otherwise); the "
             "agency's key only. Recorded through the ledger like a response (202): the report "
             "shows the withheld files once the tracker has recorded it. Recording it again "
             "changes nothing.", responses=responses(400, 401, 403, 404, 422, 503))
async def record_legal_process(tracker: TrackerDeps, agency_id: AgencyId,
                               report_id: Annotated[int, Path(ge=1)], body: LegalProcess,
                               caller: Annotated[Caller, Depends(_caller("respond"))]) -> Recorded:
    case = await held_case(tracker, report_id, agency_id)
    return await published(tracker, report_id, agency_id, {} if case.has("legal_process") else {
        "legal-process": LegalProcessRecorded(
            event_id=derived_event_id(f"{report_id}:{agency_id}", "agency-api:legal-process"),
            process=body.process, **case.response())})


@router.post("/{agency_id}/cases/{report_id}/notices/{other_report_id}", status_code=202,
             response_model=Recorded, response_model_by_alias=True,
             summary="Acknowledge a deconfliction notice: this agency knows that the linked "
             "report is held by another.",
             description="The notice must be on this agency's case of the report (404 otherwise): "
             "it names the other report and the agency holding it. Recorded through the ledger "
             "like a response (202); a second acknowledgement changes nothing.",
             responses=responses(401, 403, 404, 422, 503))
async def acknowledge_notice(tracker: TrackerDeps, agency_id: AgencyId,
                             report_id: Annotated[int, Path(ge=1)],
                             other_report_id: Annotated[int, Path(ge=1)],
                             caller: Annotated[Caller, Depends(_caller("respond"))]) -> Recorded:
    case = await held_case(tracker, report_id, agency_id)
    told = case.fields.get(f"notice:{agency_id}:{other_report_id}")
    if told is None:
        raise HTTPException(status_code=404, detail=f"{agency_id} has no notice about report "
                            f"{other_report_id} on its case of report {report_id}")
    if f"notice_ack:{agency_id}:{other_report_id}" in case.fields:
        return await published(tracker, report_id, agency_id, {})
    notice = json.loads(told)
    return await published(tracker, report_id, agency_id, {"notice-acknowledged": CaseAcknowledged(
        event_id=derived_event_id(f"{report_id}:{agency_id}:{other_report_id}",
                                  "agency-api:notice"),
        why="deconfliction", after_hours=hours_since(tracker, notice["at"]), **case.response(),
        notice=Deconfliction(report_id=report_id, agency_id=agency_id,
                             other_report_id=other_report_id,
                             other_agency_id=notice["otherAgency"]))})
