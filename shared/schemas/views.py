"""Consumer-side views of events: the same messages, read without the parts a consumer ignores.

Reports are validated in full at the edge (intake). A consumer that needs only a few of their
fields reads the event through a view: unknown keys are skipped, so no Python objects are built
for the rest of the report. A view never accepts what the full model would refuse in the fields
it keeps.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, create_model
from pydantic.alias_generators import to_camel

from shared.schemas.events import ReportSubmitted, ReportTriaged
from shared.schemas.report import (
    Address,
    EstimatedLocation,
    IncidentType,
    IpCaptureEvent,
    OriginalFileHash,
)


def without_report(model: type[BaseModel]) -> type[BaseModel]:
    """The event minus its report body (for the tracker: what happened, not what was reported)."""
    fields: dict[str, Any] = {
        name: (f.annotation, f) for name, f in model.model_fields.items() if name != "report"
    }
    return create_model(f"{model.__name__}Summary",
                        __config__=ConfigDict(extra="ignore", frozen=True), **fields)


ReportSubmittedSummary = without_report(ReportSubmitted)
ReportTriagedSummary = without_report(ReportTriaged)


class _View(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              frozen=True)


class _IncidentView(_View):
    incident_type: IncidentType


class _PersonView(_View):
    address: list[Address] = []


class _AccountView(_View):
    address: list[Address] = []


class _UserView(_View):
    person_or_user_reported_person: _PersonView | None = None
    ip_capture_event: list[IpCaptureEvent] = []
    estimated_location: EstimatedLocation | None = None
    associated_account: list[_AccountView] = []


class _VictimView(_View):
    victim_person: _PersonView | None = None
    estimated_location: EstimatedLocation | None = None
    associated_account: list[_AccountView] = []


class _RecipientView(_View):
    intended_recipient_person: _PersonView | None = None
    estimated_location: EstimatedLocation | None = None


class _LawEnforcementView(_View):
    flea_country: str | None = None
    agency_name: str
    case_number: str | None = None


class _FileView(_View):
    file_viewed_by_esp: bool | None = None
    original_file_hash: list[OriginalFileHash] = []


class ReportLocationView(_View):
    """What routing reads of a report: the incident type, every location clue, an earlier report
    to law enforcement, and which files the ESP did not view."""

    incident_summary: _IncidentView
    law_enforcement: _LawEnforcementView | None = None
    person_or_user_reported: _UserView | None = None
    intended_recipient: list[_RecipientView] = []
    victim: list[_VictimView] = []
    files: list[_FileView] = []


def _triaged_for_routing() -> type[BaseModel]:
    fields: dict[str, Any] = {
        name: (f.annotation, f) for name, f in ReportTriaged.model_fields.items() if name != "report"
    }
    fields["report"] = (ReportLocationView, ...)
    return create_model("ReportTriagedForRouting",
                        __config__=ConfigDict(extra="ignore", frozen=True), **fields)


ReportTriagedForRouting = _triaged_for_routing()
