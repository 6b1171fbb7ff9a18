"""Triage wiring: both submitted lanes, the escalated one always drained first."""

from fastapi import FastAPI

from services.triage.config import TriageSettings
from services.triage.domain import load_known_hashes
from services.triage.handlers import Triage
from services.triage.store import Bundles
from shared import topology as groups
from shared.bodies import ReportBodies
from shared.contracts import Channel, Contract, dead_letters
from shared.schemas.events import ReportSubmitted, ReportTriaged
from shared.service import StreamService
from shared.topology import TRIAGE_LANES, Topology

LANE_TEXT = {
    "p1": "Priority 1: imminent harm. The router drains this lane first.",
    "p2": "Priority-2 referrals.",
    "p3": "Priority-3 referrals.",
    "informational": "Informational reports (not actionable, viral, or bundle members).",
}


def contract(topology: Topology) -> Contract:
    return Contract(
        service=groups.TRIAGE, port=8002,
        summary="priority 1/2/3 and referral/informational by named rules "
        "([table](docs/triage-rules.md)); actionability score with the missing fields; known-file "
        "matching; age/content/file labels; viral bundles; every decision lists the rules that fired",
        consumes=[
            Channel(topology.submitted["escalated"], ReportSubmitted,
                    "Reports the ESP escalated (escalateToHighPriority): always drained first."),
            Channel(topology.submitted["standard"], ReportSubmitted, "Every other report."),
        ],
        produces=[Channel(topology.triaged[lane], ReportTriaged, LANE_TEXT[lane])
                  for lane in TRIAGE_LANES] + [dead_letters(topology)],
    )


def create_service(settings: TriageSettings | None = None) -> StreamService:
    settings = settings or TriageSettings()
    known = load_known_hashes(settings.known_hashes_file)
    service = StreamService(contract(settings.topology()), settings)
    bundles = Bundles(service.redis, service.topology, settings.bundle_window_s)
    handler = Triage(known, bundles, ReportBodies(service.redis, service.topology,
                                                  settings.report_body_ttl_s), service.topology)
    for channel in service.contract.consumes:
        service.consume(channel, handler.on_report_submitted, prepare=handler.prepare)
    return service


def create_app(settings: TriageSettings | None = None) -> FastAPI:
    return create_service(settings).app()
