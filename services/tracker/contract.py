"""What the tracker consumes (every stage's stream, with a group of its own) and produces (SLA
breaches, the agency API's responses)."""

from pathlib import Path

from shared.contracts import Channel, Contract, dead_letters
from shared.schemas.events import (
    AgencyResponse,
    MessageDeadLettered,
    ReportSubmitted,
    ReportUnassigned,
    RouterAction,
    SlaBreached,
)
from shared.schemas.views import ReportTriagedSummary
from shared.topology import SUBMIT_LANES, TRACKER, TRIAGE_LANES, Topology

# The AsyncAPI document written from this contract (tipline.docgen), served at /asyncapi.
ASYNCAPI = Path(__file__).with_name("asyncapi.yaml")


def contract(topology: Topology) -> Contract:
    t = topology
    ledger = "recorded in the report's timeline and the gap counters"
    return Contract(
        service=TRACKER, port=8004,
        summary="a timeline per report with every handoff; the gap: cases forwarded, acknowledged, "
        "outcome known, unassigned, share never acknowledged, per agency and lane; watches "
        "priority-1 cases for the SLA",
        http=["HTTP `GET /v1/reports/{id}`, `GET /v1/gap`, `GET /v1/gap/dark`, "
              "`GET /v1/agencies/{id}/cases`, `GET /v1/agencies/{id}/cases/{report}/report`, "
              "`POST /v1/agencies/{id}/cases/{report}/responses`, "
              "`GET /dashboard`"],
        consumes=[
            *[Channel(t.submitted[lane], ReportSubmitted, f"Submitted reports ({lane}), {ledger}.")
              for lane in SUBMIT_LANES],
            *[Channel(t.triaged[lane], ReportTriagedSummary, f"Triaged reports ({lane}), {ledger} "
                      "(read without their routing facts).") for lane in TRIAGE_LANES],
            Channel(t.routed, RouterAction, f"Routing decisions, re-notifications and escalations, "
                    f"{ledger}."),
            Channel(t.unassigned, ReportUnassigned, f"Unassigned reports, {ledger}."),
            Channel(t.agency_responses, AgencyResponse, f"Acknowledgements and outcomes, {ledger}."),
            Channel(t.sla_breaches, SlaBreached, f"SLA breaches, {ledger}."),
            Channel(t.dead_letters, MessageDeadLettered, "Dead letters of every service, counted."),
        ],
        produces=[Channel(t.sla_breaches, SlaBreached,
                          "A case not acknowledged within the SLA of its priority: it has gone "
                          "dark. A priority-1 case of its local agency is breached again (level 2: "
                          "escalate). Announced once, however many trackers run."),
                  Channel(t.agency_responses, AgencyResponse,
                          "Responses agencies post over HTTP (the agency API), published as the "
                          "simulated agencies' are."),
                  dead_letters(t)],
    )
