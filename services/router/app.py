"""Router wiring: every triaged lane, most urgent first; SLA breaches; routing data checked at start."""

from fastapi import FastAPI

from services.router.config import RouterSettings
from services.router.domain import load_ip_table, load_zip_table
from services.router.handlers import Routing
from shared import topology
from shared.directory import load_directory
from shared.schemas.events import SlaBreached
from shared.schemas.views import ReportTriagedForRouting
from shared.service import StreamService


def create_service(settings: RouterSettings | None = None) -> StreamService:
    settings = settings or RouterSettings()
    routing = Routing(load_ip_table(settings.ip_table_file), load_zip_table(settings.zip_table_file),
                      load_directory(settings.directory_file))
    service = StreamService(topology.ROUTER, settings)
    # The router reads only the incident type and the location clues of each report.
    service.consume_lanes(topology.TRIAGED_BY_URGENCY, ReportTriagedForRouting,
                          routing.on_report_triaged)
    service.consume(topology.SLA_BREACHES, SlaBreached, routing.on_sla_breached,
                    description="Priority-1 cases not acknowledged in time.")
    return service


def create_app(settings: RouterSettings | None = None) -> FastAPI:
    return create_service(settings).app()
