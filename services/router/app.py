"""Router wiring: SLA breaches, then every triaged lane, most urgent first; routing data checked at
start-up."""

from fastapi import FastAPI

from services.router.config import RouterSettings
from services.router.domain import load_ip_table, load_zip_table
from services.router.handlers import Routing
from shared import topology as groups
from shared.contracts import Channel, Contract, dead_letters
from shared.directory import load_directory
from shared.schemas.events import (
    CaseAssigned,
    ReportTriaged,
    ReportUnassigned,
    RouterAction,
    SlaBreached,
)
from shared.service import StreamService
from shared.topology import TRIAGE_LANES, Topology


def contract(topology: Topology) -> Contract:
    return Contract(
        service=groups.ROUTER, port=8003,
        summary="jurisdiction from the report's clues with a basis and a confidence; the state's "
        "(regional) task force or the country's liaison, plus the federal partner for a federal "
        "nexus or several states; no usable clue → unassigned with reason codes, offered to the "
        "federal partner; SLA breaches → re-notify, then escalate",
        consumes=[
            Channel(topology.sla_breaches, SlaBreached,
                    "Cases not acknowledged in time: re-notified, then escalated. Read first."),
            *[Channel(topology.triaged[lane], ReportTriaged,
                      f"Triaged reports of lane {lane}, read most urgent first; each carries the "
                      "routing facts of its report, not the report.")
              for lane in TRIAGE_LANES],
        ],
        produces=[
            Channel(topology.agency_inbox_pattern, CaseAssigned,
                    "A case handed to one agency: its jurisdiction's, the federal partner as well, "
                    "an offer when unassigned, a re-notification or an escalation."),
            Channel(topology.routed, RouterAction,
                    "Where each report went and why; re-notifications and escalations."),
            Channel(topology.unassigned, ReportUnassigned,
                    "Reports no jurisdiction could be found for, with reason codes."),
            dead_letters(topology),
        ],
    )


def create_service(settings: RouterSettings | None = None) -> StreamService:
    settings = settings or RouterSettings()
    service = StreamService(contract(settings.topology()), settings)
    routing = Routing(load_ip_table(settings.ip_table_file), load_zip_table(settings.zip_table_file),
                      load_directory(settings.directory_file), service.topology)
    breaches, *lanes = service.contract.consumes
    service.consume(breaches, routing.on_sla_breached)
    for lane in lanes:
        service.consume(lane, routing.on_report_triaged)
    return service


def create_app(settings: RouterSettings | None = None) -> FastAPI:
    return create_service(settings).app()
