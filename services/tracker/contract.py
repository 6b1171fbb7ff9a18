"""What the tracker consumes (every stage's stream, with a group of its own) and produces (SLA
breaches, the agency API's responses, the access log of report bodies)."""

from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shared.auth import Role
from shared.contracts import Channel, Contract, dead_letters
from shared.schemas.events import (
    AgencyResponse,
    MessageDeadLettered,
    ReportSubmitted,
    ReportUnassigned,
    RouterAction,
    WatchAlert,
    new_event_id,
)
from shared.schemas.views import ReportTriagedSummary
from shared.topology import SUBMIT_LANES, TRACKER, TRIAGE_LANES, Topology

# The AsyncAPI document written from this contract (tipline.docgen), served at /asyncapi.
ASYNCAPI = Path(__file__).with_name("asyncapi.yaml")

# The routes through which a report's body leaves the tracker, by the name the access log gives
# them. There are no others.
AccessRoute = Literal["agency-case", "admin-body"]
ACCESS_ROUTES: dict[str, str] = {
    "agency-case": "GET /v1/agencies/{agency_id}/cases/{report_id}/report",
    "admin-body": "GET /v1/reports/{report_id}/body",
}

# Why an admin reads a report's body: a code from this list, never free text, so that no
# personal value can reach the access log through it.
ReadReason = Literal["legal-process", "unassigned-review", "routing-review",
                     "dead-letter-repair", "data-quality-review"]
READ_REASONS: dict[str, str] = {
    "legal-process": "a legal process (a preservation request, a subpoena) names the report",
    "unassigned-review": "nobody holds a case of the report (unassigned, or offered and not taken)",
    "routing-review": "checking where the report was sent, and why",
    "dead-letter-repair": "an event of the report was dead-lettered: fixing it before a replay",
    "data-quality-review": "checking what an ESP files",
}


class ReportBodyRead(BaseModel):
    """A report's body was read: by whom, which report, when, through which route, and why (an
    admin's read). It holds no personal value: `who` is a configured account name, the reason a
    code."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["ReportBodyRead"] = "ReportBodyRead"
    event_id: str = Field(default_factory=new_event_id, description="Unique per read.")
    report_id: int = Field(ge=1, description="The report whose body was read.")
    who: str = Field(description="The caller's configured name: an agency id, an admin's account "
                     "name (TIPLINE_AGENCY_KEYS, TIPLINE_ADMIN_KEYS).")
    role: Role = Field(description="The role of the caller's key.")
    route: AccessRoute = Field(description="agency-case: GET /v1/agencies/{agency_id}/cases/"
                               "{report_id}/report; admin-body: GET /v1/reports/{report_id}/body.")
    reason: ReadReason | None = Field(default=None, description="Why an admin read it (a code); "
                                      "none for an agency reading its own case.")
    at: AwareDatetime = Field(description="When, wall-clock time (UTC).")


def contract(topology: Topology) -> Contract:
    t = topology
    ledger = "recorded in the report's timeline and the gap counters"
    return Contract(
        service=TRACKER, port=8004,
        summary="a timeline per report with every handoff and its link group; the gap: cases "
        "forwarded, acknowledged, outcome known, unassigned, share never acknowledged, per agency "
        "and lane; linked groups, deconfliction notices, preservation expired and at risk; "
        "watches cases for the SLA and the preservation clock; an agency's queue in an "
        "investigator's order",
        http=["HTTP `GET /v1/reports/{id}`, `GET /v1/gap`, `GET /v1/gap/dark`, "
              "`GET /v1/agencies/{id}/cases`, `GET /v1/agencies/{id}/cases/{report}/report`, "
              "`POST /v1/agencies/{id}/cases/{report}/responses`, "
              "`POST /v1/agencies/{id}/cases/{report}/legal-process`, "
              "`POST /v1/agencies/{id}/cases/{report}/notices/{other}`, "
              "`GET /v1/reports/{id}/body` (admin, with a reason), `GET /v1/access-log`, "
              "`GET /dashboard`"],
        consumes=[
            *[Channel(t.submitted[lane], ReportSubmitted, f"Submitted reports ({lane}), {ledger}.")
              for lane in SUBMIT_LANES],
            *[Channel(t.triaged[lane], ReportTriagedSummary, f"Triaged reports ({lane}), {ledger} "
                      "(read without their routing facts).") for lane in TRIAGE_LANES],
            Channel(t.routed, RouterAction, f"Routing decisions, re-notifications and escalations, "
                    f"{ledger}."),
            Channel(t.unassigned, ReportUnassigned, f"Unassigned reports, {ledger}."),
            Channel(t.agency_responses, AgencyResponse, f"Acknowledgements (of cases and of "
                    f"deconfliction notices), outcomes and legal process, {ledger}."),
            Channel(t.sla_breaches, WatchAlert, f"SLA breaches and preservation warnings, {ledger}."),
            Channel(t.dead_letters, MessageDeadLettered, "Dead letters of every service, counted."),
        ],
        produces=[Channel(t.sla_breaches, WatchAlert,
                          "A case not acknowledged within the SLA of its priority: it has gone "
                          "dark. A priority-1 case of its local agency is breached again (level 2: "
                          "escalate). An unacknowledged case whose report's preservation ends "
                          "within TIPLINE_PRESERVATION_AT_RISK_DAYS: its agency is warned. Each "
                          "announced once, however many trackers run."),
                  Channel(t.agency_responses, AgencyResponse,
                          "Responses agencies post over HTTP (the agency API), published as the "
                          "simulated agencies' are."),
                  Channel(t.access_log, ReportBodyRead,
                          "Every read of a report's body, recorded before the body is served: "
                          "who, which report, when, through which route, and an admin's reason "
                          "code. Append-only and read by admins (GET /v1/access-log); kept to its "
                          "newest TIPLINE_ACCESS_LOG_MAX_ENTRIES entries."),
                  dead_letters(t)],
    )
