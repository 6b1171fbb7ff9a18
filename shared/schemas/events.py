"""Internal events: one envelope, past-tense names, closed and immutable."""

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_serializer

from shared.schemas.facts import RoutingFacts

SCHEMA_VERSION = 1

Lane = Literal["escalated", "standard"]
TriageLane = Literal["p1", "p2", "p3", "informational"]
Disposition = Literal["referral", "informational"]


def new_event_id() -> str:
    return uuid.uuid4().hex


def derived_event_id(cause_event_id: str, label: str) -> str:
    """The same cause always yields the same id, so a reprocessed message is recognisable."""
    return hashlib.blake2b(f"{cause_event_id}/{label}".encode(), digest_size=16).hexdigest()


def utcnow() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """The envelope every message carries."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(default_factory=new_event_id, description="Unique per event.")
    report_id: int = Field(ge=1, description="The CyberTipline-style report number.")
    occurred_at: AwareDatetime = Field(default_factory=utcnow, description="UTC.")
    schema_version: int = Field(default=SCHEMA_VERSION)
    producer: str = Field(description="The service that published the event.")
    esp: str = Field(description="The electronic service provider that filed the report (the "
                     "authenticated caller of intake): the gap is kept per ESP.")


class ReportSubmitted(Event):
    """A report accepted by intake. Its body is not in the event: it is stored once, under the
    report's id (`shared.bodies`), in the same transaction that publishes this."""

    type: Literal["ReportSubmitted"] = "ReportSubmitted"
    lane: Lane


class RuleHit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    reason: str


class ActionabilityScore(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    score: int = Field(ge=0, le=100, description="0..100 from the fields that make a report actionable.")
    missing: list[str] = Field(description="The actionable fields the report lacks.")


class Bundle(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bundle_id: str
    role: Literal["first", "member"] = Field(description="Members are counted, not routed again.")


class KeyedClue(BaseModel):
    """An identifier of the person reported, as linking keeps it: its basis and its keyed hash
    (HMAC under TIPLINE_LINK_KEY), never the identifier; for a prior report, the cited id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    basis: Literal["prior-report", "esp-account", "email", "phone", "device"]
    hash: str = Field(pattern=r"^[0-9a-f]{32}$", description="The keyed hash of basis:value.")
    cited: int | None = Field(default=None, ge=1, description="prior-report: the report cited.")


class KeyedSighting(BaseModel):
    """A non-proxy IP address the person reported was seen at (keyed hash), and when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hash: str = Field(pattern=r"^[0-9a-f]{32}$")
    at: float = Field(description="Epoch seconds of the capture event.")


class LinkClues(BaseModel):
    """What linking needs of a report, with no identifier in clear."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clues: list[KeyedClue] = Field(default_factory=list, max_length=200)
    sightings: list[KeyedSighting] = Field(default_factory=list, max_length=200)


class ReportTriaged(Event):
    type: Literal["ReportTriaged"] = "ReportTriaged"
    priority: Literal[1, 2, 3]
    disposition: Disposition
    lane: TriageLane
    reasons: list[RuleHit] = Field(min_length=1, description="Every rule that fired.")
    actionability: ActionabilityScore
    labels: list[str] = Field(default_factory=list, description="Age range, content and file labels.")
    known_files: int = Field(default=0, ge=0, description="Files matching the known-hash list.")
    novel_files: int = Field(default=0, ge=0, description="Files not seen before.")
    bundle: Bundle | None = None
    routing: RoutingFacts = Field(description="What routing needs of the report: its location "
                                  "clues, files and an earlier report to law enforcement.")
    links: LinkClues = Field(default_factory=LinkClues, description="The person reported's "
                             "identifiers as keyed hashes, for linking.")
    submitted_at: AwareDatetime | None = Field(default=None, description="When intake accepted "
                                               "the report: its preservation runs from then.")

    @field_serializer("routing")
    def _compact(self, routing: RoutingFacts) -> dict[str, Any]:
        return routing.model_dump(mode="json", exclude_defaults=True)


OUTCOMES = (
    "search warrant served",
    "arrest made",
    "child safeguarded",
    "referred to another agency",
    "closed: insufficient information",
    "closed: no offence found",
)
Outcome = Literal[
    "search warrant served", "arrest made", "child safeguarded", "referred to another agency",
    "closed: insufficient information", "closed: no offence found",
]

CaseReason = Literal[
    "jurisdiction", "federal_nexus", "multi_state", "unassigned_offer", "renotification",
    "escalation", "linked", "deconfliction", "preservation_warning",
]


class CaseLink(BaseModel):
    """A report linked to this one: who holds it, and on what bases."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    report_id: int = Field(ge=1)
    agency_id: str | None = Field(default=None, description="The agency holding a case of it; "
                                  "none when nobody does (yet).")
    bases: list[str] = Field(default_factory=list, description="prior-report, esp-account, "
                             "email, phone, device, ip. Empty: linked through the group only.")


class Deconfliction(BaseModel):
    """Linked cases sit with different agencies: each is told of the other."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    report_id: int = Field(ge=1, description="The case the notice is about (held by agency_id).")
    agency_id: str
    other_report_id: int = Field(ge=1)
    other_agency_id: str


class CaseFile(BaseModel):
    """One file of a case, as the agency needs to know it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int = Field(ge=0, description="The file's place in the report.")
    md5: str | None = Field(default=None, description="Its MD5, when the ESP gave one.")
    needs_legal_process: bool = Field(description="The ESP did not view the file "
                                      "(fileViewedByEsp false): US courts have held that law "
                                      "enforcement needs legal process to open it.")


class PriorReport(BaseModel):
    """The ESP had already reported the incident to a law-enforcement agency (lawEnforcement)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    agency_name: str
    case_number: str | None = None
    flea_country: str | None = None


class CaseAssigned(Event):
    """A case delivered to one agency's inbox."""

    type: Literal["CaseAssigned"] = "CaseAssigned"
    agency_id: str
    why: CaseReason = Field(
        default="jurisdiction",
        description="jurisdiction: the local or international agency; federal_nexus, multi_state: "
        "the federal partner as well; unassigned_offer: no jurisdiction found, offered to the federal "
        "partner; renotification, escalation: after an SLA breach.",
    )
    priority: Literal[1, 2, 3]
    lane: TriageLane
    jurisdiction: str
    incident_type: str
    actionability: int = Field(default=0, ge=0, le=100, description="The triage actionability score.")
    labels: list[str] = Field(default_factory=list)
    files: list[CaseFile] = Field(default_factory=list, description="The report's files; each says whether "
                                  "opening it needs legal process.")
    law_enforcement: PriorReport | None = Field(default=None, description="An agency the ESP had "
                                                "already reported the incident to.")
    group: int | None = Field(default=None, ge=1, description="The link group (its smallest "
                              "report id), when the report is linked.")
    links: list[CaseLink] = Field(default_factory=list, description="Reports linked to it.")
    deconfliction: Deconfliction | None = Field(default=None, description="why deconfliction: "
                                                "the linked case at another agency.")
    preserve_until: AwareDatetime | None = Field(default=None, description="When the platform's "
                                                 "preservation of the report's content ends.")


class Notified(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    agency_id: str
    why: CaseReason


class ReportRouted(Event):
    type: Literal["ReportRouted"] = "ReportRouted"
    agency_id: str = Field(description="The local or international agency.")
    also_notified: list[Notified] = Field(default_factory=list,
                                          description="Federal partners notified as well.")
    jurisdiction: str
    region: str | None = None
    basis: str = Field(description="Which clue decided the jurisdiction.")
    confidence: float = Field(ge=0, le=1, description="Share of the location evidence behind it.")
    conflicts: list[str] = Field(default_factory=list, description="Jurisdictions other clues pointed to.")
    incident_type: str = ""
    priority: Literal[1, 2, 3]
    lane: TriageLane
    files_needing_legal_process: int = Field(default=0, ge=0, description="Files the ESP did "
                                             "not view, handed over with each case.")
    law_enforcement: PriorReport | None = None
    why: CaseReason = Field(default="jurisdiction", description="jurisdiction: its clues decided; "
                            "linked: no jurisdiction of its own, sent to the agency holding its "
                            "link group.")
    group: int | None = Field(default=None, ge=1)
    group_size: int = Field(default=1, ge=1, description="Reports in its link group.")
    links: list[CaseLink] = Field(default_factory=list)
    deconfliction: list[Deconfliction] = Field(default_factory=list, description="Notices sent: "
                                               "linked cases at different agencies, each told.")
    preserve_until: AwareDatetime | None = None


class ReportUnassigned(Event):
    type: Literal["ReportUnassigned"] = "ReportUnassigned"
    reasons: list[str] = Field(min_length=1, description="Reason codes.")
    offered_to: str | None = Field(default=None, description="The federal partner offered the case.")
    priority: Literal[1, 2, 3]
    lane: TriageLane
    files_needing_legal_process: int = Field(default=0, ge=0)
    group: int | None = Field(default=None, ge=1)
    group_size: int = Field(default=1, ge=1)
    links: list[CaseLink] = Field(default_factory=list)
    preserve_until: AwareDatetime | None = None


class WatchedCase(Event):
    """What the tracker's watches say of the unacknowledged case they announce."""

    agency_id: str
    lane: TriageLane
    priority: Literal[1, 2, 3]
    why: CaseReason = Field(description="Why the agency received the case.")
    jurisdiction: str
    incident_type: str


class SlaBreached(WatchedCase):
    """A case not acknowledged within the SLA of its priority: it has gone dark. A priority-1 case
    of its local agency is breached twice (level 1: re-notify; level 2: escalate); others once."""

    type: Literal["SlaBreached"] = "SlaBreached"
    level: Literal[1, 2]
    open_hours: float = Field(ge=0, description="Simulated hours since the case was handed over.")
    preserve_until: AwareDatetime | None = Field(default=None, description="When the report's "
                                                 "preservation ends (an escalation keeps it).")


class PreservationExpiring(WatchedCase):
    """An unacknowledged case whose report's preservation ends soon: its agency is warned once."""

    type: Literal["PreservationExpiring"] = "PreservationExpiring"
    preserve_until: AwareDatetime
    days_left: float = Field(ge=0, description="Simulated days of preservation left.")


class CaseRenotified(Event):
    type: Literal["CaseRenotified"] = "CaseRenotified"
    agency_id: str
    lane: TriageLane


class CaseEscalated(Event):
    type: Literal["CaseEscalated"] = "CaseEscalated"
    from_agency: str
    to_agency: str
    lane: TriageLane
    preserve_until: AwareDatetime | None = None


class CaseAcknowledged(Event):
    type: Literal["CaseAcknowledged"] = "CaseAcknowledged"
    agency_id: str
    lane: TriageLane
    why: CaseReason = Field(description="Why the agency received the case it acknowledges.")
    after_hours: float = Field(ge=0, description="Simulated hours from assignment.")
    notice: Deconfliction | None = Field(default=None, description="why deconfliction: the "
                                         "notice acknowledged.")


class CaseOutcomeReported(Event):
    type: Literal["CaseOutcomeReported"] = "CaseOutcomeReported"
    agency_id: str
    lane: TriageLane
    why: CaseReason = Field(description="Why the agency received the case.")
    outcome: Outcome
    after_hours: float = Field(ge=0, description="Simulated hours from assignment.")


class LegalProcessRecorded(Event):
    """The agency holding a case has legal process for it (a warrant, a subpoena): the files the
    platform did not view may now be shown to it."""

    type: Literal["LegalProcessRecorded"] = "LegalProcessRecorded"
    agency_id: str
    lane: TriageLane
    process: Literal["search-warrant", "subpoena", "court-order"] = Field(
        description="What the agency obtained.")


class MessageDeadLettered(BaseModel):
    """Not a report event: a message that could not be processed, kept with the reason."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["MessageDeadLettered"] = "MessageDeadLettered"
    event_id: str = Field(default_factory=new_event_id)
    occurred_at: AwareDatetime = Field(default_factory=utcnow)
    source_stream: str
    source_entry_id: str
    group: str
    reason: str
    deliveries: int
    payload: str = Field(description="The original entry fields, as JSON.")


RouterAction = Annotated[ReportRouted | CaseRenotified | CaseEscalated, Field(discriminator="type")]
WatchAlert = Annotated[SlaBreached | PreservationExpiring, Field(discriminator="type")]
AgencyResponse = Annotated[CaseAcknowledged | CaseOutcomeReported | LegalProcessRecorded,
                          Field(discriminator="type")]
