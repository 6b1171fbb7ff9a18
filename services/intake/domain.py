"""Intake rules: which lane a report takes, when two submissions are the same, when an open
report of the XML API expires, and what report its uploads make."""

import hashlib
import re

from shared.faults import CONTACT, LOCATION
from shared.schemas.events import Lane
from shared.schemas.report import (
    MAX_HASHES_PER_FILE,
    FileDetails,
    FiledReport,
    OriginalFileHash,
    Report,
)

LOAD_PROFILE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def load_esp(profile: str) -> str:
    """The ESP a synthetic-load report is filed as: `load:<profile>`, apart from every real one
    (ValueError for a profile name that is not one)."""
    if not LOAD_PROFILE.match(profile):
        raise ValueError("a load profile is 1-40 of a-z, 0-9 and '-'")
    return f"load:{profile}"


def degraded(report: FiledReport, losses: int) -> FiledReport:
    """The report as an ESP whose data has degraded (a workshop fault) sends it: without its
    location clues (LOCATION), without verified contact (CONTACT), or both."""
    if not losses:
        return report
    from shared.synthetic import strip_location, unverify_contact

    data = report.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    if losses & LOCATION:
        strip_location(data)
    if losses & CONTACT:
        unverify_contact(data)
    return FiledReport.model_validate(data)


def lane_for(report: FiledReport) -> Lane:
    """escalateToHighPriority set by the ESP: the escalated lane."""
    return "escalated" if report.escalated else "standard"


def fingerprint(report: FiledReport) -> str:
    """Same report content, same fingerprint: tells a retry from a reused Idempotency-Key."""
    canonical = report.model_dump_json(by_alias=True, exclude_defaults=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


# ---- the XML reporting API ----

OPEN_FOR_S = 24 * 3600  # an open report expires 24 hours after it was opened,
IDLE_FOR_S = 3600  # or 1 hour after its last change, whichever is later


def expires_at(opened: float, changed: float) -> float:
    return max(opened + OPEN_FOR_S, changed + IDLE_FOR_S)


COMPUTED_HASHES = ("MD5", "SHA1", "SHA256")


def file_hashes(declared: list[OriginalFileHash], computed: dict[str, str]
                ) -> list[OriginalFileHash]:
    """The hashes the ESP declared, then those computed from the bytes it uploaded (MD5, SHA1,
    SHA256) that it did not already declare, as many as the per-file limit leaves room for."""
    seen = {(h.hash_type.upper(), h.value.lower()) for h in declared}
    extra = [OriginalFileHash(hash_type=kind, value=value) for kind, value in computed.items()
             if (kind.upper(), value.lower()) not in seen]
    return [*declared, *extra[:max(0, MAX_HASHES_PER_FILE - len(declared))]]


def filed_report(report: Report, files: list[tuple[str, FileDetails | None, dict[str, str]]]
                 ) -> FiledReport:
    """An opened report and its uploads (file id, details sent to /fileinfo if any, computed
    hashes) as the report the JSON API would have taken: each file its details and its hashes."""
    filed = []
    for file_id, details, computed in files:
        details = details or FileDetails()
        filed.append(FileDetails.model_validate({
            **dict(details), "report_id": None, "file_id": file_id,
            "original_file_hash": file_hashes(details.original_file_hash, computed)}))
    return FiledReport.model_validate({**dict(report), "files": filed})
