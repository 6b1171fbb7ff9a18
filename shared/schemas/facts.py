"""What routing needs of a report, carried in the triaged event instead of the report itself.

The report body is stored once, when intake accepts it (`shared.bodies`); triage reads it and
hands on these facts: the incident type, every location clue, an earlier report to law
enforcement, and each file's hashes and whether the ESP viewed it. A few hundred bytes instead of
the whole report, in every triaged lane and every consumer of it.
"""

from typing import Any

from pydantic import ConfigDict, Field

from shared.schemas.camel import CamelModel
from shared.schemas.report import (
    Address,
    EstimatedLocation,
    FiledReport,
    IncidentType,
    IpCaptureEvent,
    OriginalFileHash,
)


class _Facts(CamelModel):
    # Read straight from a report's stored body, whose other fields are skipped unread.
    model_config = ConfigDict(extra="ignore", frozen=True, from_attributes=True)


class _Incident(_Facts):
    incident_type: IncidentType


class _Person(_Facts):
    address: list[Address] = Field(default_factory=list)


class _Account(_Facts):
    address: list[Address] = Field(default_factory=list)


class _User(_Facts):
    person_or_user_reported_person: _Person | None = None
    ip_capture_event: list[IpCaptureEvent] = Field(default_factory=list)
    estimated_location: EstimatedLocation | None = None
    associated_account: list[_Account] = Field(default_factory=list)


class _Victim(_Facts):
    victim_person: _Person | None = None
    estimated_location: EstimatedLocation | None = None
    associated_account: list[_Account] = Field(default_factory=list)


class _Recipient(_Facts):
    intended_recipient_person: _Person | None = None
    estimated_location: EstimatedLocation | None = None


class _LawEnforcement(_Facts):
    flea_country: str | None = None
    agency_name: str
    case_number: str | None = None


class _File(_Facts):
    file_viewed_by_esp: bool | None = None
    original_file_hash: list[OriginalFileHash] = Field(default_factory=list)


class RoutingFacts(_Facts):
    """The incident type, every location clue, an earlier report to law enforcement, and which
    files the ESP did not view."""

    incident_summary: _Incident
    law_enforcement: _LawEnforcement | None = None
    person_or_user_reported: _User | None = None
    intended_recipient: list[_Recipient] = Field(default_factory=list)
    victim: list[_Victim] = Field(default_factory=list)
    files: list[_File] = Field(default_factory=list)

    @classmethod
    def of(cls, report: FiledReport) -> "RoutingFacts":
        return cls.model_validate(report, from_attributes=True)

    @classmethod
    def of_body(cls, body: bytes) -> "RoutingFacts":
        """From a report's JSON as stored without its defaults (`shared.bodies.unpack`): three
        times cheaper than from the report."""
        return cls.model_validate_json(body)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(exclude_defaults=True)
