"""Intake wiring: the HTTP API, its Redis store, health."""

from fastapi import FastAPI

from services.intake import domain, handlers
from services.intake.config import IntakeSettings
from services.intake.store import Submissions
from shared.contracts import Channel, Contract
from shared.schemas.events import ReportSubmitted
from shared.service import StreamService
from shared.topology import Topology


def contract(topology: Topology) -> Contract:
    return Contract(
        service="intake", port=8001,
        summary="authenticates the ESP, validates the report, numbers it from a Redis counter, picks "
        "the lane (escalated when `escalateToHighPriority` is set)",
        http=["HTTP `POST /v1/reports`, `POST /v1/reports/batch`"],
        produces=[
            Channel(topology.submitted["escalated"], ReportSubmitted,
                    "Reports the ESP escalated (escalateToHighPriority set)."),
            Channel(topology.submitted["standard"], ReportSubmitted, "Every other report."),
        ],
    )


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    service = StreamService(contract(settings.topology()), settings)
    app = service.app(routers=[handlers.router])
    app.state.settings = settings
    app.state.esp_keys = domain.parse_esp_keys(settings.esp_keys)
    app.state.submissions = Submissions(service.redis, service.topology, settings.idempotency_ttl_s)
    return app
