"""Intake rules: which lane a report takes, when two submissions are the same."""

import hashlib

from shared.schemas.events import Lane
from shared.schemas.report import FiledReport


def lane_for(report: FiledReport) -> Lane:
    """escalateToHighPriority set by the ESP: the escalated lane."""
    return "escalated" if report.escalated else "standard"


def fingerprint(report: FiledReport) -> str:
    """Same report content, same fingerprint: tells a retry from a reused Idempotency-Key."""
    canonical = report.model_dump_json(by_alias=True, exclude_defaults=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
