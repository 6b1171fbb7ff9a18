"""Router wiring: SLA breaches, then every triaged lane, most urgent first; routing data checked at
start-up. `bootstrap` builds the router's handlers once (they need nothing but its data files)."""

from dataclasses import dataclass

from fastapi import FastAPI

from services.router.config import RouterSettings
from services.router.contract import ASYNCAPI, contract
from services.router.domain import load_ip_table, load_zip_table
from services.router.handlers import Routing
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
                      load_directory(settings.directory_file), service.topology)
    for channel in service.contract.consumes:  # in their declared order: breaches first
        handler = routing.on_sla_breached if SlaBreached in channel.types else (
            routing.on_report_triaged)
        service.consume(channel, handler)
    return Wired(service, routing)


def create_app(settings: RouterSettings | None = None) -> FastAPI:
    return bootstrap(settings).service.app()
