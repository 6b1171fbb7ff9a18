"""What triage consumes (the submitted lanes) and produces (the triaged lanes)."""

from pathlib import Path

from shared.contracts import Channel, Contract, dead_letters
from shared.schemas.events import ReportSubmitted, ReportTriaged
from shared.topology import TRIAGE, TRIAGE_LANES, Topology

LANE_TEXT = {
    "p1": "Priority 1: imminent harm. The router drains this lane first.",
    "p2": "Priority-2 referrals.",
    "p3": "Priority-3 referrals.",
    "informational": "Informational reports (not actionable, viral, or bundle members).",
}

# The AsyncAPI document written from this contract (tipline.docgen), served at /asyncapi.
ASYNCAPI = Path(__file__).with_name("asyncapi.yaml")


def contract(topology: Topology) -> Contract:
    return Contract(
        service=TRIAGE, port=8002,
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
