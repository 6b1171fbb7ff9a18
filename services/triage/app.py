"""Triage wiring: both submitted lanes, the escalated one always drained first."""

from fastapi import FastAPI

from services.triage.config import TriageSettings
from services.triage.contract import ASYNCAPI, contract
from services.triage.domain import load_known_hashes
from services.triage.handlers import Triage
from services.triage.store import Bundles
from shared.bodies import ReportBodies
from shared.service import StreamService


def create_service(settings: TriageSettings | None = None) -> StreamService:
    settings = settings or TriageSettings()
    known = load_known_hashes(settings.known_hashes_file)
    service = StreamService(contract(settings.topology()), settings, asyncapi=ASYNCAPI)
    bundles = Bundles(service.redis, service.topology, settings.bundle_window_s)
    handler = Triage(known, bundles, ReportBodies(service.redis, service.topology,
                                                  settings.report_body_ttl_s), service.topology)
    for channel in service.contract.consumes:
        service.consume(channel, handler.on_report_submitted, prepare=handler.prepare)
    return service


def create_app(settings: TriageSettings | None = None) -> FastAPI:
    return create_service(settings).app()
