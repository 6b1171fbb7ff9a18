"""Tracker subscribers and HTTP routes: record every stage; show timelines and the gap."""

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request

from services.tracker import domain
from services.tracker.store import now
from shared.outbox import Outbox
from shared.schemas.events import MessageDeadLettered
from shared.topology import Topology


class Recorder:
    def __init__(self, topology: Topology) -> None:
        self.topology = topology

    def on_report_event(self, event: domain.ReportEvent, out: Outbox) -> None:
        """Every stage of a report goes to the ledger (the subscription's collector)."""
        at = event.occurred_at.timestamp()
        for step in domain.steps_for(event):
            out.collect((event.report_id, step, at))

    def on_message_dead_lettered(self, _event: MessageDeadLettered, out: Outbox) -> None:
        out.command("HINCRBY", self.topology.gap_totals, "dead_letters", 1)


router = APIRouter(prefix="/v1", tags=["tracker"])


@router.get("/reports/{report_id}", response_model=domain.Timeline, response_model_by_alias=True,
            summary="A report's timeline: every stage with its time, and what is known after it.")
async def get_report(report_id: int, request: Request) -> domain.Timeline:
    fields = await request.app.state.ledger.timeline_fields(report_id)
    if not fields:
        raise HTTPException(status_code=404, detail=f"no report {report_id} in the ledger")
    return domain.timeline(report_id, fields)


@router.get("/gap", response_model=domain.Gap, response_model_by_alias=True,
            summary="The handoff gap: forwarded, acknowledged, outcome known, per agency and lane.")
async def get_gap(request: Request) -> domain.Gap:
    state = request.app.state
    agency_ids = [a.id for a in state.directory.agencies]
    totals, agencies, lanes, open_count, oldest = await state.ledger.counters(agency_ids)
    oldest_hours = (
        round((now() - oldest) / state.settings.sim_seconds_per_hour, 2) if oldest else None
    )
    return domain.gap(totals, agencies, lanes, open_count, oldest_hours)


@router.get("/dead-letters", summary="The most recent dead letters, newest first.")
async def get_dead_letters(request: Request, limit: int = Query(50, ge=1, le=1000)) -> list[Any]:
    return await request.app.state.ledger.dead_letters(limit)
