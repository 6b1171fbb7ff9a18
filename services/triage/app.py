"""Triage wiring: both submitted lanes, escalated first."""

from fastapi import FastAPI

from services.triage.config import TriageSettings
from services.triage.handlers import on_report_submitted
from shared import topology
from shared.schemas.events import ReportSubmitted
from shared.service import StreamService


def create_service(settings: TriageSettings | None = None) -> StreamService:
    service = StreamService(topology.TRIAGE, settings or TriageSettings())
    service.consume_lanes(topology.SUBMITTED_BY_URGENCY, ReportSubmitted, on_report_submitted)
    return service


def create_app(settings: TriageSettings | None = None) -> FastAPI:
    return create_service(settings).app()
