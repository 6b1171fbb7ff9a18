"""Triage wiring: both submitted lanes, the escalated one always drained first."""

from fastapi import FastAPI

from services.triage.config import TriageSettings
from services.triage.domain import load_known_hashes
from services.triage.handlers import Triage
from services.triage.store import Bundles
from shared import topology
from shared.schemas.events import ReportSubmitted
from shared.service import StreamService


def create_service(settings: TriageSettings | None = None) -> StreamService:
    settings = settings or TriageSettings()
    known = load_known_hashes(settings.known_hashes_file)
    service = StreamService(topology.TRIAGE, settings)
    handler = Triage(known, Bundles(service.redis, settings.bundle_window_s))
    service.consume_lanes(topology.SUBMITTED_BY_URGENCY, ReportSubmitted, handler.on_report_submitted,
                          prepare=handler.prepare)
    return service


def create_app(settings: TriageSettings | None = None) -> FastAPI:
    return create_service(settings).app()
