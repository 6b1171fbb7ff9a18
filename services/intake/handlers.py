"""Intake routes: authenticate, validate at the edge, refuse what would flood a lane, number, publish."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.intake import domain
from services.intake.batches import BatchRefused
from services.intake.deps import Intake, IntakeDeps
from services.intake.store import Accepted, Draft
from shared import devkeys
from shared.auth import bearer
from shared.http import field_errors, read_body, responses, unavailable
from shared.logging import bound, get_logger
from shared.schemas.events import Lane
from shared.schemas.report import FiledReport
from shared.service import dependency

log = get_logger(__name__)
router = APIRouter(prefix="/v1", tags=["reports"])

_intake = dependency(Intake)


def _esp_keys(request: Request) -> tuple[dict[str, str], float]:
    intake = _intake(request)
    return intake.esp_keys, intake.clock.now()


CurrentEsp = Annotated[str, Depends(bearer(
    "EspKey", "An ESP's API key (TIPLINE_ESP_KEYS); the development key of `example-esp` is "
    f"`{devkeys.ESP_KEY}`.", _esp_keys))]
IdempotencyKey = Annotated[str | None, Header(max_length=200, description=(
    "A retry with the same key and report answers the same report id and publishes nothing again."))]
LoadProfile = Annotated[str | None, Header(alias="Tipline-Load", max_length=40, description=(
    "Synthetic load (`tipline load`): the report is filed as the ESP `load:<profile>`. Only the "
    "ESPs of TIPLINE_LOAD_ESPS may send it."))]


def _filing_esp(intake: Intake, caller: str, load_profile: str | None) -> str:
    try:
        return intake.filing_esp(caller, load_profile)
    except ValueError as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from None


class ReportAccepted(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    report_id: int = Field(alias="reportId")
    lane: Lane


class BatchRequest(BaseModel):
    """The batch endpoint's body. Each item is validated as a Report on its own: an invalid one
    gets its own 422 in the results, and the others are accepted."""

    model_config = ConfigDict(extra="forbid")

    reports: list[dict[str, Any]] = Field(
        min_length=1, description="Reports in the JSON form of the public schema (see the FiledReport "
        "schema); at most TIPLINE_MAX_BATCH_REPORTS (1,000 by default).")


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}}


async def _backpressure(intake: Intake, lanes: set[Lane]) -> None:
    full = await intake.backlogs.over_bound(lanes)
    if full:
        raise unavailable(f"the {' and '.join(sorted(full))} lane's backlog is over "
                          f"{intake.settings.max_lane_backlog} reports; nothing was "
                          "done, retry later")


@router.post(
    "/reports", status_code=202, response_model=ReportAccepted, response_model_by_alias=True,
    summary="Submit one CyberTipline report (JSON form of the public schema).",
    responses=responses(400, 401, 403, 408, 409, 413, 415, 422, 503),
    openapi_extra=_body(FiledReport),
)
async def submit_report(request: Request, intake: IntakeDeps, caller: CurrentEsp,
                        idempotency_key: IdempotencyKey = None, load: LoadProfile = None) -> Any:
    esp = _filing_esp(intake, caller, load)
    settings = intake.settings
    body = await read_body(request, settings.max_body_bytes, settings.http_body_timeout_s)
    try:
        report = FiledReport.model_validate_json(body)
    except ValidationError as exc:
        return JSONResponse(status_code=422, content=field_errors(exc))
    await _backpressure(intake, {domain.lane_for(report)})
    [result] = await intake.submissions.accept(esp, [draft(intake.as_filed(esp, report),
                                                           idempotency_key)])
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
    error_count: int | None = Field(default=None, alias="errorCount")


class BatchAccepted(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchItemResult]


@router.post(
    "/reports/batch", response_model=BatchAccepted, response_model_by_alias=True,
    summary="Submit many reports in one request: a result per report, in order.",
    description="Body: {\"reports\": [report, ...]}. Each report is validated on its own; the "
    "valid ones are accepted even when others are not, and published together in one "
    "transaction (all of them or, when Redis fails, none: 503). With an Idempotency-Key header, "
    "report i of the batch is keyed '<key>#<i>', so a retried batch returns the same report ids "
    "and publishes nothing twice.",
    responses=responses(400, 401, 403, 408, 413, 415, 422, 503), openapi_extra=_body(BatchRequest),
)
async def submit_batch(request: Request, intake: IntakeDeps, caller: CurrentEsp,
                       idempotency_key: IdempotencyKey = None, load: LoadProfile = None) -> Any:
    esp = _filing_esp(intake, caller, load)
    settings = intake.settings
    body = await read_body(request, settings.max_batch_bytes, settings.http_body_timeout_s)
    try:
        items = await intake.checks.run(intake.batches.read, body)
    except BatchRefused as exc:
        return JSONResponse(status_code=422, content=exc.body)
    del body  # the reports are read: the bytes need not outlive them
    results: list[BatchItemResult | None] = [None] * len(items)
    drafts, where = [], []
    for item in items:
        if item.report is None:
            assert item.errors is not None
            results[item.index] = BatchItemResult(index=item.index, status=422,
                                                  detail=item.errors["detail"],
                                                  error_count=item.errors["errorCount"])
            continue
        drafts.append(draft(intake.as_filed(esp, item.report),
                            f"{idempotency_key}#{item.index}" if idempotency_key else None))
        where.append(item.index)
    if drafts:
        await _backpressure(intake, {d.lane for d in drafts})
    for i, result in zip(where, await intake.submissions.accept(esp, drafts), strict=True):
        if result.conflict:
            results[i] = BatchItemResult(index=i, status=409, detail=REUSED_KEY)
            continue
        _log_accepted(esp, result)
        results[i] = BatchItemResult(index=i, status=202, report_id=result.report_id, lane=result.lane)
    done = [r for r in results if r is not None]
    accepted = sum(1 for r in done if r.status == 202)
    return BatchAccepted(accepted=accepted, rejected=len(done) - accepted, results=done)


REUSED_KEY = "Idempotency-Key was already used for a different report"


def draft(report: FiledReport, idempotency_key: str | None) -> Draft:
    return Draft(report, domain.lane_for(report), domain.fingerprint(report), idempotency_key)


def _log_accepted(esp: str, result: Accepted) -> None:
    if result.event_id:  # a replay was logged when it was first accepted
        with bound(report_id=result.report_id, event_id=result.event_id):
            log.info("report accepted", esp=esp, lane=result.lane)
