"""Triage rules: each a small pure function over the evidence, with the public criterion it models."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from services.triage.domain.evidence import MEETING_WORDS, Evidence
from shared.schemas.report import IncidentType

Effect = Literal["priority 1", "referral", "informational", "priority 2", "rank", "bundle"]

CONTACT_OFFENCES = frozenset({
    IncidentType.CHILD_SEX_TRAFFICKING, IncidentType.CHILD_SEX_TOURISM,
    IncidentType.CHILD_SEXUAL_MOLESTATION, IncidentType.ONLINE_ENTICEMENT,
})


@dataclass(frozen=True)
class Rule:
    name: str
    effect: Effect
    source: str
    check: Callable[[Evidence], str | None] | None
    note: str = ""

    @property
    def criterion(self) -> str:
        """The one-line docstring of the rule's function: what it models, in words."""
        return (self.check.__doc__ or "").strip() if self.check else self.note


RULES: list[Rule] = []


def rule(name: str, effect: Effect, source: str) -> Callable[[Callable[[Evidence], str | None]],
                                                          Callable[[Evidence], str | None]]:
    def register(check: Callable[[Evidence], str | None]) -> Callable[[Evidence], str | None]:
        RULES.append(Rule(name, effect, source, check))
        return check
    return register


API = "CyberTipline Reporting API documentation"
NCMEC_URGENT = "NCMEC: reports of immediate or impending harm go to law enforcement immediately"
NCMEC_REFERRAL = "NCMEC: ESP reports with actionable data are referrals, others informational"
NCMEC_LABELS = "NCMEC: media are labelled by content type and estimated age range"
NCMEC_HASH = "NCMEC: known files are matched by hash so analysts see novel material first"
NCMEC_VIRAL = "NCMEC: viral duplicates are bundled"


# ---- imminent harm: priority 1, whatever else the report lacks ----

@rule("esp_escalation", "priority 1", f"{API}: incidentSummary.escalateToHighPriority")
def esp_escalation(ev: Evidence) -> str | None:
    """The ESP supplied escalateToHighPriority, which escalates the report."""
    return "the ESP set escalateToHighPriority" if ev.report.escalated else None


@rule("sextortion_with_identified_minor", "priority 1", f"{NCMEC_URGENT}; {API}: sextortion")
def sextortion_with_identified_minor(ev: Evidence) -> str | None:
    """Sextortion of an identified minor is ongoing harm to a known child."""
    if ev.report.incident_summary.annotations.sextortion and ev.identified_minor_victim:
        return "sextortion annotation and an identified minor victim"
    return None


@rule("sadistic_exploitation_with_identified_minor", "priority 1",
      f"{NCMEC_URGENT}; {API}: sadisticOnlineExploitation")
def sadistic_exploitation_with_identified_minor(ev: Evidence) -> str | None:
    """Sadistic online exploitation of an identified minor is ongoing harm to a known child."""
    annotations = ev.report.incident_summary.annotations
    if annotations.sadistic_online_exploitation and ev.identified_minor_victim:
        return "sadistic online exploitation annotation and an identified minor victim"
    return None


@rule("live_streaming", "priority 1", f"{NCMEC_URGENT}; {API}: fileAnnotations.liveStreaming")
def live_streaming(ev: Evidence) -> str | None:
    """A live-streamed file means abuse that may be happening now."""
    count = sum(1 for f in ev.report.files if f.annotations.live_streaming)
    return f"{count} live-streamed file(s)" if count else None


@rule("enticement_planned_meeting", "priority 1",
      f"{NCMEC_URGENT}; {API}: incidentType Online Enticement")
def enticement_planned_meeting(ev: Evidence) -> str | None:
    """Online enticement whose content describes a planned meeting: a child may be met in person."""
    if ev.report.incident_summary.incident_type != IncidentType.ONLINE_ENTICEMENT:
        return None
    found = MEETING_WORDS.search(ev.text)
    return f"enticement describing a meeting ('{found.group(0).lower()}')" if found else None


# ---- disposition: referral or informational ----

@rule("actionable", "referral", NCMEC_REFERRAL)
def actionable(ev: Evidence) -> str | None:
    """A user identifier, content, and a location clue: something police can act on."""
    if ev.user_identifier and ev.content and ev.location_clue:
        return f"a user identifier, content and a location clue (score {ev.actionability.score})"
    return None


@rule("not_actionable", "informational", NCMEC_REFERRAL)
def not_actionable(ev: Evidence) -> str | None:
    """Without an identifier, content or a location clue, a report is informational."""
    missing = [name for name, present in (
        ("user identifier", ev.user_identifier), ("file or content", ev.content),
        ("location clue", ev.location_clue)) if not present]
    return "missing: " + ", ".join(missing) if missing else None


@rule("esp_marked_informational", "informational", f"{API}: reportAnnotations.informational")
def esp_marked_informational(ev: Evidence) -> str | None:
    """The ESP itself annotated the report as informational."""
    if ev.report.incident_summary.annotations.informational:
        return "the ESP annotated the report as informational"
    return None


@rule("viral_content", "informational", f"{NCMEC_REFERRAL} (viral content, memes)")
def viral_content(ev: Evidence) -> str | None:
    """Only viral or meme files and nothing else described: informational."""
    return "every file is viral or a meme, and nothing else is described" if ev.viral_only else None


# ---- priority of a referral ----

@rule("contact_offence", "priority 2", f"{API}: incidentType")
def contact_offence(ev: Evidence) -> str | None:
    """Trafficking, sex tourism, molestation or enticement: contact with a child, not only imagery."""
    incident = ev.report.incident_summary.incident_type
    return f"incident type: {incident.value}" if incident in CONTACT_OFFENCES else None


@rule("identified_minor_victim", "priority 2", f"{API}: victim")
def identified_minor_victim(ev: Evidence) -> str | None:
    """A child the report identifies can be found and protected."""
    return "the report identifies a minor victim" if ev.identified_minor_victim else None


@rule("novel_sex_act_imagery", "priority 2", f"{NCMEC_HASH}; {NCMEC_LABELS}: A1/B1")
def novel_sex_act_imagery(ev: Evidence) -> str | None:
    """Novel files classified A1 or B1 (a sex act): possibly a child not yet identified."""
    count = sum(1 for f in ev.novel_files if f.industry_classification in ("A1", "B1"))
    return f"{count} novel file(s) showing a sex act" if count else None


@rule("novel_harm_indicators", "priority 2", f"{NCMEC_HASH}; {API}: fileAnnotations")
def novel_harm_indicators(ev: Evidence) -> str | None:
    """Novel files of an infant, or with physical harm or violence: the gravest new material."""
    flags = sorted({name for f in ev.novel_files for name, on in (
        ("infant", f.annotations.infant), ("physical harm", f.annotations.physical_harm),
        ("violence/gore", f.annotations.violence_gore)) if on})
    return "novel file(s) marked " + ", ".join(flags) if flags else None


# ---- ranking and labels ----

@rule("novel_files", "rank", NCMEC_HASH)
def novel_files(ev: Evidence) -> str | None:
    """Files not in the known-hash list come first for analysts."""
    return f"{len(ev.novel_files)} file(s) not seen before" if ev.novel_files else None


@rule("only_known_files", "rank", NCMEC_HASH)
def only_known_files(ev: Evidence) -> str | None:
    """Every file was seen before: it ranks below reports with novel files."""
    if ev.known_files and not ev.novel_files:
        return f"all {len(ev.known_files)} file(s) match the known-hash list"
    return None


# Applied with the bundle state, which the handler looks up; listed here for the rules table.
VIRAL_BUNDLE_FIRST = Rule(
    "viral_bundle_first", "bundle", NCMEC_VIRAL, None,
    "The first viral-only report with a given hash opens a bundle and is triaged as usual.")
VIRAL_BUNDLE_MEMBER = Rule(
    "viral_bundle_member", "bundle", NCMEC_VIRAL, None,
    "A later viral-only report sharing a hash joins the bundle: informational, counted, not routed.")
RULES += [VIRAL_BUNDLE_FIRST, VIRAL_BUNDLE_MEMBER]
