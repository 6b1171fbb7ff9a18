"""Agencies wiring: one inbox subscription per agency in the directory, and the response clock."""

from fastapi import FastAPI

from services.agencies.clock import ResponseClock
from services.agencies.config import AgenciesSettings
from services.agencies.handlers import Agencies
from shared import topology
from shared.directory import load_directory
from shared.schemas.events import CaseAssigned
from shared.service import StreamService


def create_service(settings: AgenciesSettings | None = None) -> StreamService:
    settings = settings or AgenciesSettings()
    directory = load_directory(settings.directory_file)
    service = StreamService(topology.AGENCIES, settings)
    agencies = Agencies(service.redis, directory, settings.sim_seconds_per_hour)
    # Every inbox in one read: dozens of agencies, one blocking call.
    service.consume_lanes([topology.agency_inbox(a.id) for a in directory.agencies], CaseAssigned,
                          agencies.on_case_assigned, strict=False, prepare=agencies.prepare)
    service.run_in_background(ResponseClock(service.redis, settings.release_interval_ms))
    return service


def create_app(settings: AgenciesSettings | None = None) -> FastAPI:
    return create_service(settings).app()
