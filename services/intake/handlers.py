"""Intake routes: authenticate, validate at the edge, number, publish."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.intake import domain
from services.intake.store import Accepted, Draft
from shared.logging import bound, get_logger
from shared.schemas.events import Lane
from shared.schemas.report import Report

log = get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["reports"])


class ReportAccepted(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    report_id: int = Field(alias="reportId")
    lane: Lane


async def authenticated_esp(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    esp = domain.authenticate(request.app.state.esp_keys, authorization)
    if esp is None:
        raise HTTPException(
            status_code=401, detail="a valid 'Authorization: Bearer <key>' header is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return esp


CurrentEsp = Annotated[str, Depends(authenticated_esp)]


async def read_limited(request: Request, limit: int) -> bytes:
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
    body = await read_limited(request, request.app.state.settings.max_body_bytes)
    try:
        report = Report.model_validate_json(body)
    except ValidationError as exc:
        return JSONResponse(status_code=422, content={"detail": validation_errors(exc)})
    [result] = await request.app.state.submissions.accept(esp, [draft(report, idempotency_key)])
    if result.conflict:
        raise HTTPException(status_code=409, detail=REUSED_KEY)
    _log_accepted(esp, result)
    return ReportAccepted(report_id=result.report_id, lane=result.lane)


class BatchItemResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    index: int
    status: int = Field(description="202 accepted, 409 key reused for another report, 422 invalid.")
    report_id: int | None = Field(default=None, alias="reportId")
    lane: Lane | None = None
    detail: Any = None


class BatchAccepted(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchItemResult]


@router.post(
    "/reports/batch", response_model=BatchAccepted, response_model_by_alias=True,
    summary="Submit many reports in one request: a result per report, in order.",
    description="Body: {\"reports\": [report, ...]}. Each report is validated on its own; the "
    "valid ones are accepted even when others are not. With an Idempotency-Key header, report i "
    "of the batch is keyed '<key>#<i>', so a retried batch returns the same report ids and "
    "publishes nothing twice.",
    responses={401: {}, 413: {}, 422: {}},
)
async def submit_batch(
    request: Request,
    esp: CurrentEsp,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    settings = request.app.state.settings
    body = await read_limited(request, settings.max_batch_bytes)
    try:
        batch = BatchBody.model_validate_json(body)
    except ValidationError as exc:
        return JSONResponse(status_code=422, content={"detail": validation_errors(exc)})
    if len(batch.reports) > settings.max_batch_reports:
        return JSONResponse(status_code=422, content={"detail": [{
            "loc": ["reports"], "type": "too_long",
            "msg": f"at most {settings.max_batch_reports} reports per batch"}]})
    results: list[BatchItemResult | None] = [None] * len(batch.reports)
    drafts, where = [], []
    for i, item in enumerate(batch.reports):
        try:
            report = Report.model_validate(item)
        except ValidationError as exc:
            results[i] = BatchItemResult(index=i, status=422, detail=validation_errors(exc))
            continue
        drafts.append(draft(report, f"{idempotency_key}#{i}" if idempotency_key else None))
        where.append(i)
    for i, result in zip(where, await request.app.state.submissions.accept(esp, drafts), strict=True):
        if result.conflict:
            results[i] = BatchItemResult(index=i, status=409, detail=REUSED_KEY)
            continue
        _log_accepted(esp, result)
        results[i] = BatchItemResult(index=i, status=202, report_id=result.report_id, lane=result.lane)
    done = [r for r in results if r is not None]
    accepted = sum(1 for r in done if r.status == 202)
    return BatchAccepted(accepted=accepted, rejected=len(done) - accepted, results=done)


class BatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: list[dict[str, Any]] = Field(min_length=1)


REUSED_KEY = "Idempotency-Key was already used for a different report"


def draft(report: Report, idempotency_key: str | None) -> Draft:
    return Draft(report, domain.lane_for(report), domain.fingerprint(report), idempotency_key)


def _log_accepted(esp: str, result: Accepted) -> None:
    if result.event_id:  # a replay was logged when it was first accepted
        with bound(report_id=result.report_id, event_id=result.event_id):
            log.info("report accepted", esp=esp, lane=result.lane)
