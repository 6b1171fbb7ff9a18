"""Agencies wiring: every agency inbox in one reader, and the response clock."""

from fastapi import FastAPI

from services.agencies.clock import ResponseClock
from services.agencies.config import AgenciesSettings
from services.agencies.contract import ASYNCAPI, contract
from services.agencies.handlers import Agencies
from services.agencies.store import Backlogs, Schedule
from shared.directory import load_directory
from shared.service import StreamService


def create_service(settings: AgenciesSettings | None = None) -> StreamService:
    settings = settings or AgenciesSettings()
    directory = load_directory(settings.directory_file)
    # Every inbox in one read: dozens of agencies, one blocking call, equal standing.
    service = StreamService(contract(settings.topology()), settings, strict=False,
                            asyncapi=ASYNCAPI)
    agencies = Agencies(Backlogs(service.redis, service.topology, settings.dedupe_ttl_s), directory,
                        service.topology, settings.sim_seconds_per_hour)
    service.consume(service.contract.consumes[0], agencies.on_case_assigned,
                    streams=[service.topology.agency_inbox(a.id) for a in directory.agencies],
                    prepare=agencies.prepare)
    clock = ResponseClock(Schedule(service.redis, service.topology), settings.release_interval_ms)
    service.run_in_background(clock.worker())
    return service


def create_app(settings: AgenciesSettings | None = None) -> FastAPI:
    return create_service(settings).app()
