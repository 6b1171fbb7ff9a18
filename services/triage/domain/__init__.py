"""Triage: priority 1/2/3 and referral/informational from named rules, with every reason kept."""

from dataclasses import dataclass, replace

from services.triage.domain.bundles import BundleWindow, first_report
from services.triage.domain.evidence import (
    Actionability,
    Evidence,
    KnownHashError,
    KnownHashes,
    gather,
    load_known_hashes,
)
from services.triage.domain.rules import RULES, VIRAL_BUNDLE_FIRST, VIRAL_BUNDLE_MEMBER, Rule
from shared.schemas.events import Disposition, RuleHit, TriageLane
from shared.schemas.report import FiledReport

__all__ = [
    "RULES", "Actionability", "BundleWindow", "Evidence", "KnownHashError", "KnownHashes", "Rule",
    "TriageDecision", "as_bundle_first", "as_bundle_member", "first_report", "load_known_hashes",
    "triage",
]


@dataclass(frozen=True)
class TriageDecision:
    priority: int
    disposition: Disposition
    lane: TriageLane
    reasons: tuple[RuleHit, ...]
    actionability: Actionability
    labels: tuple[str, ...]
    known_files: int
    novel_files: int
    bundle_keys: tuple[str, ...]
    bundle_id: str | None = None
    bundle_role: str | None = None

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(r.rule for r in self.reasons)


def triage(report: FiledReport, known: KnownHashes) -> TriageDecision:
    """Decide priority and disposition; the decision names every rule that fired and why."""
    ev = gather(report, known)
    fired = [(r, reason) for r in RULES if r.check and (reason := r.check(ev))]
    effects = {r.effect for r, _ in fired}
    names = {r.name for r, _ in fired}
    reasons = tuple(RuleHit(rule=r.name, reason=reason) for r, reason in fired)
    referral = "actionable" in names and not (
        {"esp_marked_informational", "viral_content"} & names)
    disposition: Disposition = "referral" if referral else "informational"
    if "priority 1" in effects:
        priority, lane = 1, "p1"
    elif not referral:
        priority, lane = 3, "informational"
    elif "priority 2" in effects:
        priority, lane = 2, "p2"
    else:
        priority, lane = 3, "p3"
    return TriageDecision(
        priority=priority, disposition=disposition, lane=lane, reasons=reasons,
        actionability=ev.actionability, labels=ev.labels, known_files=len(ev.known_files),
        novel_files=len(ev.novel_files),
        bundle_keys=ev.bundle_keys if priority != 1 else (),
    )


def bundle_id(first_report_id: int) -> str:
    return f"bundle-{first_report_id}"


def as_bundle_first(decision: TriageDecision, first_report_id: int) -> TriageDecision:
    """The report opened a viral bundle: triaged as usual, the bundle noted."""
    hit = RuleHit(rule=VIRAL_BUNDLE_FIRST.name,
                  reason=f"first report of {bundle_id(first_report_id)}")
    return replace(decision, reasons=(*decision.reasons, hit), bundle_id=bundle_id(first_report_id),
                   bundle_role="first")


def as_bundle_member(decision: TriageDecision, first_report_id: int) -> TriageDecision:
    """The report shares a viral file with an earlier one: an informational member of its bundle."""
    hit = RuleHit(rule=VIRAL_BUNDLE_MEMBER.name,
                  reason=f"shares a viral file with report {first_report_id}")
    return replace(decision, priority=3, disposition="informational", lane="informational",
                   reasons=(*decision.reasons, hit), bundle_id=bundle_id(first_report_id),
                   bundle_role="member")
