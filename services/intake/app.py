"""Intake wiring: the HTTP API, its Redis store, health."""

from fastapi import FastAPI

from services.intake import domain, handlers
from services.intake.config import IntakeSettings
from services.intake.store import Submissions
from shared.service import StreamService


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    service = StreamService("intake", settings)
    app = service.app(routers=[handlers.router])
    app.state.settings = settings
    app.state.esp_keys = domain.parse_esp_keys(settings.esp_keys)
    app.state.submissions = Submissions(service.redis, settings.idempotency_ttl_s)
    return app
