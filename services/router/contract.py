"""What the router consumes (SLA breaches, the triaged lanes) and produces (agency inboxes, the
routed and unassigned records)."""

from pathlib import Path

from shared.contracts import Channel, Contract, dead_letters
from shared.schemas.events import (
    CaseAssigned,
    ReportTriaged,
    ReportUnassigned,
    RouterAction,
    WatchAlert,
)
from shared.topology import ROUTER, TRIAGE_LANES, Topology

# The AsyncAPI document written from this contract (tipline.docgen), served at /asyncapi.
ASYNCAPI = Path(__file__).with_name("asyncapi.yaml")


def contract(topology: Topology) -> Contract:
    return Contract(
        service=ROUTER, port=8003,
        summary="jurisdiction from the report's clues with a basis and a confidence; the state's "
        "(regional) task force or the country's liaison, plus the federal partner for a federal "
        "nexus or several states; linked to earlier reports by keyed identifiers: no "
        "jurisdiction of its own → the agency holding its group; linked cases at different "
        "agencies → a deconfliction notice to each; no usable clue → unassigned with reason "
        "codes, offered to the federal partner; SLA breaches → re-notify, then escalate; "
        "preservation ending → warn",
        consumes=[
            Channel(topology.sla_breaches, WatchAlert,
                    "Cases not acknowledged in time: re-notified, then escalated; cases whose "
                    "preservation ends soon: their agency warned. Read first."),
            *[Channel(topology.triaged[lane], ReportTriaged,
                      f"Triaged reports of lane {lane}, read most urgent first; each carries the "
                      "routing facts of its report, not the report.")
              for lane in TRIAGE_LANES],
        ],
        produces=[
            Channel(topology.agency_inbox_pattern, CaseAssigned,
                    "A case handed to one agency: its jurisdiction's, the holder of its link "
                    "group, the federal partner as well, an offer when unassigned, a "
                    "re-notification, an escalation, a preservation warning, or a deconfliction "
                    "notice about a linked case at another agency."),
            Channel(topology.routed, RouterAction,
                    "Where each report went and why; re-notifications and escalations."),
            Channel(topology.unassigned, ReportUnassigned,
                    "Reports no jurisdiction could be found for, with reason codes."),
            dead_letters(topology),
        ],
    )
