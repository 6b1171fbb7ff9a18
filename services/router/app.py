"""Router wiring: every triaged lane, most urgent first; routing data checked at start-up."""

from fastapi import FastAPI

from services.router.config import RouterSettings
from services.router.domain import load_ip_table
from services.router.handlers import Routing
from shared import topology
from shared.directory import load_directory
from shared.schemas.events import ReportTriaged
from shared.service import StreamService


def create_service(settings: RouterSettings | None = None) -> StreamService:
    settings = settings or RouterSettings()
    routing = Routing(load_ip_table(settings.ip_table_file), load_directory(settings.directory_file))
    service = StreamService(topology.ROUTER, settings)
    service.consume_lanes(topology.TRIAGED_BY_URGENCY, ReportTriaged, routing.on_report_triaged)
    return service


def create_app(settings: RouterSettings | None = None) -> FastAPI:
    return create_service(settings).app()
