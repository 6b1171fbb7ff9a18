"""What intake consumes (HTTP) and produces (the submitted lanes)."""

from pathlib import Path

from shared.contracts import Channel, Contract
from shared.schemas.events import ReportSubmitted
from shared.topology import Topology

# The AsyncAPI document written from this contract (tipline.docgen), served at /asyncapi.
ASYNCAPI = Path(__file__).with_name("asyncapi.yaml")


def contract(topology: Topology) -> Contract:
    return Contract(
        service="intake", port=8001,
        summary="authenticates the ESP, validates the report, numbers it from a Redis counter, picks "
        "the lane (escalated when `escalateToHighPriority` is set)",
        http=["HTTP `POST /v1/reports`, `POST /v1/reports/batch`",
              "the XML reporting API under `/ispws` (docs/ispws.md)"],
        produces=[
            Channel(topology.submitted["escalated"], ReportSubmitted,
                    "Reports the ESP escalated (escalateToHighPriority set)."),
            Channel(topology.submitted["standard"], ReportSubmitted, "Every other report."),
        ],
    )
