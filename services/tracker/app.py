"""Tracker wiring: its own group on every stage's stream, and the HTTP API."""

from typing import Annotated

from fastapi import FastAPI
from pydantic import Field

from services.tracker.config import TrackerSettings
from services.tracker.domain import ReportEvent
from services.tracker.handlers import Recorder, router
from services.tracker.sla import SlaWatcher
from services.tracker.store import Ledger
from shared import topology
from shared.directory import load_directory
from shared.schemas.events import MessageDeadLettered
from shared.service import StreamService

AnyReportEvent = Annotated[ReportEvent, Field(discriminator="type")]


def create_app(settings: TrackerSettings | None = None) -> FastAPI:
    settings = settings or TrackerSettings()
    service = StreamService(topology.TRACKER, settings)
    ledger = Ledger(service.redis)
    recorder = Recorder(ledger)
    for stream in topology.ALL_CONSUMED[topology.TRACKER]:
        if stream == topology.DEAD_LETTERS:
            service.consume(stream, MessageDeadLettered, recorder.on_message_dead_lettered,
                            description="Dead letters, counted.")
        else:
            service.consume(stream, AnyReportEvent, recorder.on_report_event,
                            description="Every stage of a report, recorded in its timeline.")
    service.run_in_background(SlaWatcher(ledger, settings.sla_p1_hours, settings.sim_seconds_per_hour,
                                         settings.sla_check_interval_ms))
    app = service.app(routers=[router])
    app.state.settings = settings
    app.state.ledger = ledger
    app.state.directory = load_directory(settings.directory_file)
    return app
