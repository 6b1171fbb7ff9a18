"""The facts triage rules read, gathered once per report: actionability, files, victims, labels."""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from shared.schemas.report import Email, FileDetails, FiledReport, Person, Phone

HASH_LENGTHS = {"MD5": 32, "SHA1": 40, "SHA256": 64}

# What makes a report actionable, and how much each part weighs in the 0..100 score.
ACTIONABILITY_WEIGHTS = {
    "userIdentifier": 20,
    "contactData": 10,
    "verifiedContact": 5,  # an email or phone the ESP verified reaches a person
    "files": 15,
    "ipCaptureEvent": 20,
    "estimatedLocation": 20,
    "victimDetails": 10,
}

CLASSIFICATION_LABELS = {
    "A": "age:prepubescent", "B": "age:pubescent",
    "1": "content:sex-act", "2": "content:lascivious-exhibition",
}
ANNOTATION_LABELS = {
    "viral": "file:viral", "potential_meme": "file:potential-meme",
    "generative_ai": "file:generative-ai", "infant": "file:infant",
    "physical_harm": "file:physical-harm", "violence_gore": "file:violence-gore",
    "live_streaming": "file:live-streaming", "bestiality": "file:bestiality",
    "anime_drawing_virtual_hentai": "file:drawn", "possible_self_production":
    "file:possible-self-production",
}

MEETING_WORDS = re.compile(
    r"\b(meet(ing)?|meet[- ]?up|pick (you|her|him) up|come over|my place|your address|"
    r"hotel|motel|this weekend|tonight|tomorrow)\b",
    re.IGNORECASE,
)


class KnownHashError(ValueError):
    pass


@dataclass(frozen=True)
class KnownHashes:
    """Hashes of previously seen files, by hash type, lower case."""

    by_type: dict[str, frozenset[str]]

    def matches(self, file: FileDetails) -> bool:
        return any(h.value.lower() in self.by_type.get(h.hash_type, frozenset())
                   for h in file.original_file_hash)


def load_known_hashes(path: Path) -> KnownHashes:
    """Read the known-hash list; a value of the wrong length or alphabet is a start-up error."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise KnownHashError(f"known-hash list {path} is unreadable: {exc}") from exc
    by_type: dict[str, frozenset[str]] = {}
    for hash_type, length in HASH_LENGTHS.items():
        values = data.get(hash_type, [])
        bad = [v for v in values
               if not (isinstance(v, str) and len(v) == length and re.fullmatch(r"[0-9a-fA-F]+", v))]
        if bad:
            raise KnownHashError(f"known-hash list {path}: {hash_type} values not {length} hex "
                                 f"digits: {bad[:3]}")
        by_type[hash_type] = frozenset(v.lower() for v in values)
    return KnownHashes(by_type)


@dataclass(frozen=True)
class Actionability:
    score: int
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Evidence:
    report: FiledReport
    actionability: Actionability
    user_identifier: bool
    content: bool
    location_clue: bool
    identified_minor_victim: bool
    novel_files: tuple[FileDetails, ...]
    known_files: tuple[FileDetails, ...]
    viral_only: bool
    labels: tuple[str, ...]
    text: str

    @property
    def bundle_keys(self) -> tuple[str, ...]:
        """The hashes a viral-only report is bundled by."""
        if not self.viral_only:
            return ()
        return tuple(sorted({f"{h.hash_type}:{h.value.lower()}" for f in self.report.files
                             for h in f.original_file_hash}))


def _identified(person: Person | None) -> bool:
    return bool(person and (person.first_name or person.last_name or person.email or person.phone))


def identified_minor_victim(report: FiledReport) -> bool:
    """A victim the report identifies (an account, a name, contact data) who is not known to be an adult."""
    for victim in report.victim:
        age = victim.victim_person.age
        identified = bool(victim.esp_identifier or victim.screen_name or victim.display_name) \
            or _identified(victim.victim_person)
        if identified and (age is None or age < 18):
            return True
    return False


def contacts(report: FiledReport) -> list[Email | Phone]:
    """The reported user's emails and phones, their own and their associated accounts'."""
    p = report.person_or_user_reported
    if p is None:
        return []
    person = p.person_or_user_reported_person
    found: list[Email | Phone] = [*person.email, *person.phone] if person else []
    for account in p.associated_account:
        found += [*account.email, *account.phone]
    return found


def _located(report: FiledReport) -> bool:
    """An estimated location or an address of anyone the report names."""
    p = report.person_or_user_reported
    estimates = [p.estimated_location if p else None]
    estimates += [v.estimated_location for v in report.victim]
    estimates += [r.estimated_location for r in report.intended_recipient]
    if any(e and (e.country_code or e.region or e.city) for e in estimates):
        return True
    people = [p.person_or_user_reported_person if p else None]
    people += [v.victim_person for v in report.victim]
    people += [r.intended_recipient_person for r in report.intended_recipient]
    accounts = [*(p.associated_account if p else []), *[a for v in report.victim
                                                        for a in v.associated_account]]
    return any(person and person.address for person in people) or any(a.address for a in accounts)


def actionability(report: FiledReport) -> Actionability:
    """Score 0..100 from the fields that make a report actionable; list the missing ones."""
    p = report.person_or_user_reported
    reached = contacts(report)
    present = {
        "userIdentifier": bool(p and (p.esp_identifier or p.screen_name or p.display_name
                                      or p.profile_url)),
        "contactData": bool(reached),
        "verifiedContact": any(c.verified for c in reached),
        "files": bool(getattr(report, "files", [])),
        "ipCaptureEvent": bool(p and any(not e.possible_proxy for e in p.ip_capture_event)),
        "estimatedLocation": _located(report),
        "victimDetails": bool(report.victim),
    }
    score = sum(w for name, w in ACTIONABILITY_WEIGHTS.items() if present[name])
    return Actionability(score, tuple(name for name in ACTIONABILITY_WEIGHTS if not present[name]))


def file_labels(file: FileDetails, known: bool) -> set[str]:
    labels = {"file:previously-seen" if known else "file:novel"}
    if file.industry_classification:
        labels |= {CLASSIFICATION_LABELS[c] for c in file.industry_classification}
    annotations = file.annotations
    labels |= {label for attr, label in ANNOTATION_LABELS.items() if getattr(annotations, attr)}
    return labels


def gather(report: FiledReport, known: KnownHashes) -> Evidence:
    """Every fact the rules need, computed once."""
    p = report.person_or_user_reported
    score = actionability(report)
    # One pass over the files: each is matched once (a set lookup per hash), never compared with
    # the others, so the cost grows with the number of files and no faster.
    seen_before = [known.matches(f) for f in report.files]
    known_files = tuple(f for f, k in zip(report.files, seen_before, strict=True) if k)
    novel_files = tuple(f for f, k in zip(report.files, seen_before, strict=True) if not k)
    described = [c for d in report.internet_details if (c := getattr(d.incident, "content", None))]
    labels: set[str] = set()
    for f, k in zip(report.files, seen_before, strict=True):
        labels |= file_labels(f, k)
    text = " ".join(filter(None, [report.additional_info,
                                  report.incident_summary.escalate_to_high_priority, *described]))
    return Evidence(
        report=report,
        actionability=score,
        user_identifier=bool(p and (p.esp_identifier or p.screen_name or p.display_name))
        or bool(contacts(report)),
        content=bool(report.files or described),
        location_clue="ipCaptureEvent" not in score.missing or "estimatedLocation" not in score.missing,
        identified_minor_victim=identified_minor_victim(report),
        novel_files=novel_files,
        known_files=known_files,
        # An ESP's batched report of viral content, or files that are all viral or memes, with
        # nothing else described.
        viral_only=bool(report.files) and not described and (
            report.batched_report is not None
            or all(f.annotations.viral or f.annotations.potential_meme for f in report.files)),
        labels=tuple(sorted(labels)),
        text=text,
    )
