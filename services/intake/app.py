"""Intake wiring: the HTTP API, its Redis store, health."""

import time

from fastapi import FastAPI

from services.intake import handlers, ispws
from services.intake.config import IntakeSettings
from services.intake.contract import ASYNCAPI, contract
from services.intake.open_reports import OpenReports
from services.intake.store import Backlogs, Submissions
from shared.auth import parse_keys, parse_users
from shared.bodies import ReportBodies
from shared.http import document_schemas
from shared.schemas.report import MAX_FILES, FiledReport
from shared.service import StreamService


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    service = StreamService(contract(settings.topology()), settings, asyncapi=ASYNCAPI)
    app = service.app(routers=[handlers.router, ispws.router])
    document_schemas(app, FiledReport, handlers.BatchRequest)
    app.state.settings = settings
    app.state.esp_keys = parse_keys(settings.esp_keys, "ESP key")
    report_bodies = ReportBodies(service.redis, service.topology, settings.report_body_ttl_s)
    app.state.submissions = Submissions(service.redis, service.topology, service.publisher,
                                        settings.idempotency_ttl_s, report_bodies)
    app.state.backlogs = Backlogs(service.redis, service.topology, settings.max_lane_backlog)
    app.state.batch_body = handlers.batch_body(settings.max_batch_reports)
    app.state.ispws_users = parse_users(settings.ispws_users, "reporting API user")
    app.state.open_reports = OpenReports(service.redis, service.topology, service.publisher,
                                         settings.ispws_keep_s, MAX_FILES, report_bodies)
    app.state.clock = time.time  # when open reports expire; tests move it
    return app
