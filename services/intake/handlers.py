"""Intake routes: authenticate, validate at the edge, number, publish."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.intake import domain
from services.intake.store import Submissions
from shared.logging import bound, get_logger
from shared.schemas.events import Lane, ReportSubmitted
from shared.schemas.report import Report

log = get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["reports"])


class ReportAccepted(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    report_id: int = Field(alias="reportId")
    lane: Lane


def authenticated_esp(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    esp = domain.authenticate(request.app.state.esp_keys, authorization)
    if esp is None:
        raise HTTPException(
            status_code=401, detail="a valid 'Authorization: Bearer <key>' header is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return esp


CurrentEsp = Annotated[str, Depends(authenticated_esp)]


async def read_limited(request: Request) -> bytes:
    limit = request.app.state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(status_code=413, detail=f"request body over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(status_code=413, detail=f"request body over {limit} bytes")
    return bytes(body)


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    # Field-level errors without echoing the submitted values (they may be personal data).
    return [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


@router.post(
    "/reports", status_code=202, response_model=ReportAccepted, response_model_by_alias=True,
    summary="Submit one CyberTipline report (JSON form of the public schema).",
    responses={401: {}, 409: {}, 413: {}, 422: {}},
)
async def submit_report(
    request: Request,
    esp: CurrentEsp,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    body = await read_limited(request)
    try:
        report = Report.model_validate_json(body)
    except ValidationError as exc:
        return JSONResponse(status_code=422, content={"detail": validation_errors(exc)})

    submissions: Submissions = request.app.state.submissions
    lane = domain.lane_for(report)
    digest = domain.fingerprint(report)
    if idempotency_key:
        earlier = await submissions.remembered(esp, idempotency_key)
        if earlier:
            return _replay(earlier, digest, lane)
    report_id = await submissions.next_report_id()
    event = ReportSubmitted(report_id=report_id, producer="intake", esp=esp, lane=lane, report=report)
    key = (esp, idempotency_key) if idempotency_key else None
    winner = await submissions.publish(event, key, digest)
    if winner[0] != report_id:  # a concurrent retry with the same key got there first
        return _replay(winner, digest, lane)
    with bound(report_id=report_id, event_id=event.event_id):
        log.info("report accepted", esp=esp, lane=lane)
    return ReportAccepted(report_id=report_id, lane=lane)


def _replay(earlier: tuple[int, str], fingerprint: str, lane: Lane) -> Any:
    report_id, earlier_print = earlier
    if earlier_print != fingerprint:
        raise HTTPException(
            status_code=409,
            detail="Idempotency-Key was already used for a different report",
        )
    return ReportAccepted(report_id=report_id, lane=lane)
