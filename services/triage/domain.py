"""Triage rules, first version: escalation, actionability, disposition and priority, with reasons."""

from dataclasses import dataclass

from shared.schemas.events import Disposition, RuleHit, TriageLane
from shared.schemas.report import IncidentType, Report

# Incident types that describe contact with or danger to a child, not only imagery.
CONTACT_OFFENCES = frozenset({
    IncidentType.CHILD_SEX_TRAFFICKING, IncidentType.CHILD_SEX_TOURISM,
    IncidentType.CHILD_SEXUAL_MOLESTATION, IncidentType.ONLINE_ENTICEMENT,
})


@dataclass(frozen=True)
class TriageDecision:
    priority: int
    disposition: Disposition
    lane: TriageLane
    reasons: tuple[RuleHit, ...]


def has_user_identifier(report: Report) -> bool:
    """A user identifier: the reported account's id, name, email or phone."""
    p = report.person_or_user_reported
    return bool(p and (p.esp_identifier or p.screen_name or p.email or p.phone))


def has_content(report: Report) -> bool:
    """Content: at least one file, or a described exchange."""
    return bool(report.files or any(d.content for d in report.internet_details))


def has_location_clue(report: Report) -> bool:
    """A location clue: an estimated location, an IP address not marked as a proxy, an address."""
    p = report.person_or_user_reported
    if p and (p.estimated_location or any(not e.possible_proxy for e in p.ip_capture_event)):
        return True
    people = [p.person_or_user_reported_person if p else None]
    people += [v.victim_person for v in report.victim]
    return any(person and person.address for person in people)


def triage(report: Report) -> TriageDecision:
    """Decide priority and disposition; every decision names the rules that fired."""
    reasons: list[RuleHit] = []
    summary = report.incident_summary

    if report.escalated:
        reasons.append(RuleHit(rule="esp_escalation",
                               reason="the ESP set escalateToHighPriority"))

    actionable = has_user_identifier(report) and has_content(report) and has_location_clue(report)
    if actionable:
        reasons.append(RuleHit(rule="actionable",
                               reason="a user identifier, content and a location clue"))
    else:
        missing = [name for name, present in (
            ("user identifier", has_user_identifier(report)),
            ("file or content", has_content(report)),
            ("location clue", has_location_clue(report)),
        ) if not present]
        reasons.append(RuleHit(rule="not_actionable", reason="missing: " + ", ".join(missing)))

    if summary.report_annotations.informational:
        reasons.append(RuleHit(rule="esp_marked_informational",
                               reason="the ESP annotated the report as informational"))
    viral_only = bool(report.files) and all(
        f.file_annotations.viral or f.file_annotations.potential_meme for f in report.files
    )
    if viral_only:
        reasons.append(RuleHit(rule="viral_content", reason="every file is viral or a meme"))

    if report.escalated:
        disposition: Disposition = "referral" if actionable else "informational"
        return TriageDecision(1, disposition, "p1", tuple(reasons))

    if not actionable or summary.report_annotations.informational or viral_only:
        return TriageDecision(3, "informational", "informational", tuple(reasons))

    serious = summary.incident_type in CONTACT_OFFENCES or bool(report.victim) or any(
        f.industry_classification in ("A1", "B1") for f in report.files
    )
    if serious:
        reasons.append(RuleHit(
            rule="serious_referral",
            reason="a contact offence, an identified victim, or a file showing a sex act",
        ))
        return TriageDecision(2, "referral", "p2", tuple(reasons))
    return TriageDecision(3, "referral", "p3", tuple(reasons))
