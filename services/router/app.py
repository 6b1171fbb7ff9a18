"""Router wiring: SLA breaches, then every triaged lane, most urgent first; routing data checked at
start-up. `bootstrap` builds the router's handlers once (they need nothing but its data files)."""

from dataclasses import dataclass

from fastapi import FastAPI

from services.router.config import RouterSettings
from services.router.contract import ASYNCAPI, contract
from services.router.domain import load_ip_table, load_zip_table
from services.router.handlers import Routing
from services.router.link_store import LinkStore
from shared.directory import load_directory
from shared.schemas.events import SlaBreached
from shared.service import StreamService


@dataclass(frozen=True)
class Wired:
    service: StreamService
    routing: Routing


def bootstrap(settings: RouterSettings | None = None) -> Wired:
    settings = settings or RouterSettings()
    service = StreamService(contract(settings.topology()), settings, asyncapi=ASYNCAPI)
    routing = Routing(load_ip_table(settings.ip_table_file), load_zip_table(settings.zip_table_file),
                      load_directory(settings.directory_file), service.topology,
                      LinkStore(service.redis, service.topology, settings.link_ip_window_s)
                      if settings.linking else None,
                      settings.preservation_s())
    for channel in service.contract.consumes:  # in their declared order: watch alerts first
        if SlaBreached in channel.types:
            service.consume(channel, routing.on_watch_alert)
        else:
            service.consume(channel, routing.on_report_triaged, prepare=routing.prepare)
    return Wired(service, routing)


def create_app(settings: RouterSettings | None = None) -> FastAPI:
    return bootstrap(settings).service.app()
