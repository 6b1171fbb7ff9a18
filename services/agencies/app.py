"""Agencies wiring: every agency inbox in one reader, and the release of due responses.
`bootstrap` builds every collaborator once; a test passes fakes for any of them."""

from dataclasses import dataclass

from fastapi import FastAPI

from services.agencies.config import AgenciesSettings
from services.agencies.contract import ASYNCAPI, contract
from services.agencies.handlers import Agencies, Backlogs
from services.agencies.release import ResponseRelease
from services.agencies.store import AgencyBacklogs, Schedule
from shared.clock import SYSTEM, Clock
from shared.directory import load_directory
from shared.service import StreamService


@dataclass(frozen=True)
class Wired:
    service: StreamService
    agencies: Agencies


def bootstrap(settings: AgenciesSettings | None = None, *, clock: Clock = SYSTEM,
              backlogs: Backlogs | None = None) -> Wired:
    settings = settings or AgenciesSettings()
    directory = load_directory(settings.directory_file)
    # Every inbox in one read: dozens of agencies, one blocking call, equal standing.
    service = StreamService(contract(settings.topology()), settings, strict=False,
                            asyncapi=ASYNCAPI, clock=clock)
    redis, t = service.redis, service.topology
    agencies = Agencies(backlogs or AgencyBacklogs(redis, t, settings.dedupe_ttl_s, clock),
                        directory, t, settings.sim_seconds_per_hour, faults=service.fault_watch)
    [inboxes] = service.contract.consumes
    service.consume(inboxes, agencies.on_case_assigned,
                    streams=[t.agency_inbox(a.id) for a in directory.agencies],
                    prepare=agencies.prepare)
    service.run_in_background(ResponseRelease(Schedule(redis, t), clock,
                                              settings.release_interval_ms).worker())
    return Wired(service, agencies)


def create_app(settings: AgenciesSettings | None = None) -> FastAPI:
    return bootstrap(settings).service.app()
