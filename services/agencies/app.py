"""Agencies wiring: every agency inbox in one reader, and the response clock."""

from fastapi import FastAPI

from services.agencies.clock import ResponseClock
from services.agencies.config import AgenciesSettings
from services.agencies.handlers import Agencies
from services.agencies.store import Backlogs, Schedule
from shared import topology as groups
from shared.contracts import Channel, Contract, dead_letters
from shared.directory import load_directory
from shared.schemas.events import AgencyResponse, CaseAssigned
from shared.service import StreamService
from shared.topology import Topology


def contract(topology: Topology) -> Contract:
    return Contract(
        service=groups.AGENCIES, port=8005,
        summary="80 mock agencies from `shared/data/agencies.json`: each works through its backlog "
        "at its capacity, acknowledges after a simulated delay, sometimes never, sometimes reports "
        "an outcome",
        consumes=[Channel(topology.agency_inbox_pattern, CaseAssigned,
                          "One inbox per agency of the directory, all read together.")],
        produces=[Channel(topology.agency_responses, AgencyResponse,
                          "Acknowledgements and outcomes, released when their simulated time has "
                          "come."), dead_letters(topology)],
    )


def create_service(settings: AgenciesSettings | None = None) -> StreamService:
    settings = settings or AgenciesSettings()
    directory = load_directory(settings.directory_file)
    # Every inbox in one read: dozens of agencies, one blocking call, equal standing.
    service = StreamService(contract(settings.topology()), settings, strict=False)
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
