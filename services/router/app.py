"""Router wiring: SLA breaches, then every triaged lane, most urgent first; routing data checked at
start-up."""

from fastapi import FastAPI

from services.router.config import RouterSettings
from services.router.contract import ASYNCAPI, contract
from services.router.domain import load_ip_table, load_zip_table
from services.router.handlers import Routing
from shared.directory import load_directory
from shared.schemas.events import SlaBreached
from shared.service import StreamService


def create_service(settings: RouterSettings | None = None) -> StreamService:
    settings = settings or RouterSettings()
    service = StreamService(contract(settings.topology()), settings, asyncapi=ASYNCAPI)
    routing = Routing(load_ip_table(settings.ip_table_file), load_zip_table(settings.zip_table_file),
                      load_directory(settings.directory_file), service.topology)
    for channel in service.contract.consumes:  # in their declared order: breaches first
        handler = routing.on_sla_breached if channel.event is SlaBreached else (
            routing.on_report_triaged)
        service.consume(channel, handler)
    return service


def create_app(settings: RouterSettings | None = None) -> FastAPI:
    return create_service(settings).app()
