"""The tracker's HTTP API: timelines and the gap for analysts, dead letters, replay for admins."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from services.tracker import domain
from services.tracker.store import now
from shared.auth import bearer, match
from shared.http import responses

ANALYST_TEXT = ("An analyst's key (TIPLINE_ANALYST_KEYS; development key "
                "`dev-analyst-key-not-secret`). An admin key is accepted too.")
ADMIN_TEXT = "An admin's key (TIPLINE_ADMIN_KEYS; development key `dev-admin-key-not-secret`)."


def _analyst_or_admin(request: Request) -> dict[str, str]:
    return {**request.app.state.analyst_keys, **request.app.state.admin_keys}


Analyst = Annotated[str, Depends(bearer("AnalystKey", ANALYST_TEXT, _analyst_or_admin))]
Admin = Annotated[str, Depends(bearer("AdminKey", ADMIN_TEXT,
                                      lambda request: request.app.state.admin_keys))]

router = APIRouter(prefix="/v1", tags=["tracker"])


@router.get("/reports/{report_id}", response_model=domain.Timeline, response_model_by_alias=True,
            summary="A report's timeline: every stage with its time, and what is known after it.",
            responses=responses(401, 404, 422, 503))
async def get_report(report_id: int, request: Request, _who: Analyst) -> domain.Timeline:
    fields = await request.app.state.ledger.timeline_fields(report_id)
    if not fields:
        raise HTTPException(status_code=404, detail=f"no report {report_id} in the ledger")
    return domain.timeline(report_id, fields)


@router.get("/gap", response_model=domain.Gap, response_model_by_alias=True,
            summary="The handoff gap: forwarded, acknowledged, outcome known, per agency and lane.",
            responses=responses(401, 503))
async def get_gap(request: Request, _who: Analyst) -> domain.Gap:
    state = request.app.state
    agency_ids = [a.id for a in state.directory.agencies]
    totals, agencies, lanes, open_count, oldest = await state.ledger.counters(agency_ids)
    oldest_hours = (
        round((now() - oldest) / state.settings.sim_seconds_per_hour, 2) if oldest else None
    )
    return domain.gap(totals, agencies, lanes, open_count, oldest_hours)


class DeadLetter(BaseModel):
    """A message that could not be processed; its payload (the original entry, which may hold a
    whole report) only for an admin who asks for it."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              serialize_by_alias=True)

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
            description="`payload=true` includes each original entry; that takes an admin key.",
            responses=responses(401, 403, 422, 503))
async def list_dead_letters(request: Request, _who: Analyst,
                            limit: int = Query(50, ge=1, le=1000),
                            payload: bool = Query(False)) -> list[DeadLetter]:
    if payload:
        _require_admin(request)
    found = await request.app.state.dead_letters.recent(limit)
    return [_letter(i, letter, replayed, payload) for i, letter, replayed in found]


@router.get("/dead-letters/{letter_id}", response_model=DeadLetter, response_model_by_alias=True,
            summary="One dead letter with its payload (admin).",
            responses=responses(401, 404, 503))
async def show_dead_letter(letter_id: str, request: Request, _who: Admin) -> DeadLetter:
    letter, replayed = await _find(request, letter_id)
    return _letter(letter_id, letter, replayed, payload=True)


class Replayed(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True,
                              serialize_by_alias=True)

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
async def replay_dead_letter(letter_id: str, request: Request, _who: Admin) -> Replayed:
    letter, _ = await _find(request, letter_id)
    if not request.app.state.replayable(letter["source_stream"]):
        raise HTTPException(status_code=409, detail=f"{letter['source_stream']} is not a stream "
                            "of this stack: not replayed")
    new_id = await request.app.state.dead_letters.replay(letter_id, letter)
    if new_id is None:
        raise HTTPException(status_code=409, detail=f"dead letter {letter_id} was replayed before")
    return Replayed(id=letter_id, stream=letter["source_stream"], entry_id=new_id)


async def _find(request: Request, letter_id: str) -> tuple[dict[str, Any], bool]:
    if not _is_entry_id(letter_id):
        raise HTTPException(status_code=404, detail=f"no dead letter {letter_id}")
    found = await request.app.state.dead_letters.get(letter_id)
    if found is None:
        raise HTTPException(status_code=404, detail=f"no dead letter {letter_id}")
    return found


def _is_entry_id(text: str) -> bool:
    ms, _, seq = text.partition("-")
    return ms.isdigit() and seq.isdigit() and len(text) < 42


def _require_admin(request: Request) -> None:
    token = request.headers.get("authorization", "").partition(" ")[2].strip()
    if match(request.app.state.admin_keys, token) is None:
        raise HTTPException(status_code=403, detail="payloads of dead letters take an admin key")
