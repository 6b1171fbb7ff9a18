"""Synthetic reports, obviously fake: example.com addresses, documentation IP ranges, fictional
555-01xx phones, made-up hashes.

Each report's person reported is its own (an account, an email, a screen name derived from its
kind and seed, shared with no other report), except a report by a recurring offender: at
`recurring_share` of the reports (`RECURRING_SHARE` unless asked otherwise; 0 turns it off) the
person reported is one of the `OFFENDERS`, with the offender's stable account, verified email and,
for some, phone or device, reported by one ESP or another from wherever the report's own draws put
it. Linking (`shared.linking`) finds those reports and only those.
"""

import hashlib
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

Kind = Literal["escalated", "referral", "informational", "no_location"]
KINDS: tuple[Kind, ...] = ("escalated", "referral", "informational", "no_location")

_STATES = ("CA", "TX", "NY", "FL", "WA", "OH", "GA")
_KNOWN_IPS = ("192.0.2.10", "192.0.2.70", "192.0.2.140", "192.0.2.200", "198.51.100.20")
_PLACES = (("Sacramento", "CA"), ("San Diego", "CA"), ("Houston", "TX"), ("Brooklyn", "NY"),
           ("Miami", "FL"), ("Columbus", "OH"), ("Denver", "CO"), ("Atlanta", "GA"))
# A handful of made-up meme hashes that go round: reports carrying them form viral bundles.
# A file's hash never links reports: a meme names no person.
_MEMES = tuple(f"{'e' * 28}{i:04d}" for i in range(5))

RECURRING_SHARE = 0.05
# The platforms a recurring offender is reported by, and the services it holds its account on.
_PLATFORMS = ("Synthetic Photo Share", "Synthetic Chat", "Synthetic Video", "Synthetic Forum")
_AREA_CODES = ("202", "312", "415", "503", "617", "713")


@dataclass(frozen=True)
class Offender:
    """A synthetic person reported again and again, by different ESPs from different places, under
    one account, one verified email and, for some, one verified phone (555-01xx, a fictional
    range) or one device."""

    number: int
    service: str
    account: str
    email: str
    phone: str | None
    device: str | None

    @classmethod
    def of(cls, number: int) -> "Offender":
        rng = random.Random(f"offender:{number}")
        return cls(number, service=rng.choice(_PLATFORMS), account=f"repeat-user-{number:02d}",
                   email=f"repeat.user.{number:02d}@example.com",
                   phone=f"{rng.choice(_AREA_CODES)}-555-01{number:02d}" if rng.random() < 0.5
                   else None,
                   device=f"synthetic-device-{number:02d}" if rng.random() < 0.4 else None)

    def as_reported(self) -> dict[str, Any]:
        """The offender as a report's `personOrUserReported`, before its location clues."""
        person: dict[str, Any] = {}
        if self.phone:
            person["phone"] = [{"value": self.phone, "type": "Mobile", "verified": True,
                                "countryCallingCode": "+1"}]
        person["email"] = [{"value": self.email, "verified": True}]
        user: dict[str, Any] = {"personOrUserReportedPerson": person,
                                "espIdentifier": self.account, "espService": self.service,
                                "screenName": f"synthetic_repeat_{self.number:02d}"}
        if self.device:
            user["deviceId"] = [{"idType": "Device ID", "idValue": self.device}]
        return user


# A small pool (the phones' 555-0100..0199 allow up to 100): in a run of a thousand reports each
# offender recurs a few times, so nearly every recurring report is linked to another.
OFFENDERS: tuple[Offender, ...] = tuple(Offender.of(i) for i in range(20))


def recurring_offender(key: str, share: float) -> Offender | None:
    """The recurring offender a report is by, drawn from the report's key at `share` (None: the
    person reported is its own). A report by an offender at one share is by the same one at any
    higher share."""
    if not 0 <= share <= 1:
        raise ValueError(f"a recurring share is between 0 and 1: {share}")
    rng = random.Random(f"recurring:{key}")
    return OFFENDERS[rng.randrange(len(OFFENDERS))] if rng.random() < share else None


def _own_id(kind: str, seed: int | str) -> str:
    """An id for the report's own person: from its kind and seed, so that no two reports share
    one (64 bits: no collision in millions of reports)."""
    return hashlib.sha256(f"person:{kind}:{seed}".encode()).hexdigest()[:16]


def _fake_md5(rng: random.Random) -> str:
    return hashlib.md5(f"synthetic-{rng.random()}".encode(), usedforsecurity=False).hexdigest()


def synthetic_report(kind: Kind, seed: int | str = 0, offender: Offender | None = None,
                     people: str = "") -> dict[str, Any]:
    """One synthetic report of the given kind, as the JSON an ESP would submit (the JSON form of
    the public schema, with its files inline); its person reported is its own, or `offender`
    (then reported by one of a few platforms)."""
    rng = random.Random(f"{kind}:{seed}")
    n = rng.randrange(10_000, 99_999)
    # the sample files keep their ids; `people` names a run's own population of persons
    own = str(n) if seed == "sample" else _own_id(kind, f"{people}{seed}")
    when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 500_000))
    report: dict[str, Any] = {
        "incidentSummary": {
            "incidentType": "Child Pornography (possession, manufacture, and distribution)",
            "platform": "Synthetic Photo Share",
            "incidentDateTime": when.isoformat(),
        },
        "reporter": {"reportingPerson": {
            "firstName": "Trust", "lastName": "Safety",
            "email": [{"value": f"trust-safety-{n}@esp.example.com", "type": "Work"}],
        }, "companyTemplate": "Synthetic ESP"},
    }
    verified = rng.random() < 0.5  # drawn for an offender's report too: the rest is the same
    user: dict[str, Any] = offender.as_reported() if offender else {
        "personOrUserReportedPerson": {"email": [{"value": f"user{own}@example.com",
                                                  "verified": verified}]},
        "espIdentifier": f"user-{own}", "screenName": f"synthetic_user_{own}",
    }
    if offender:
        platform = random.Random(f"platform:{kind}:{seed}").choice(_PLATFORMS)
        report["incidentSummary"]["platform"] = platform
        report["reporter"]["companyTemplate"] = platform
    viewed = rng.random() < 0.8  # most files were viewed by the ESP before reporting
    files = [{
        "originalFileName": f"upload-{n}.jpg",
        "fileViewedByEsp": viewed,
        "industryClassification": rng.choice(["A1", "A2", "B1", "B2"]),
        "originalFileHash": [{"value": _fake_md5(rng), "hashType": "MD5"}],
    }]
    if kind == "escalated":
        report["incidentSummary"]["incidentType"] = "Online Enticement of Children for Sexual Acts"
        report["incidentSummary"]["escalateToHighPriority"] = (
            "Synthetic: user describes a planned meeting with a minor this weekend."
        )
        report["incidentSummary"]["reportAnnotations"] = {"sextortion": True}
        city, state = ("Sacramento", "CA") if seed == "sample" else rng.choice(_PLACES)
        user["estimatedLocation"] = {"city": city, "region": state, "countryCode": "US"}
        report["internetDetails"] = [{"chatImIncident": {
            "chatClient": "Synthetic Chat", "content": "Synthetic: asks to meet this weekend."}}]
        report["victim"] = [{"victimPerson": {"age": 14}, "espIdentifier": f"victim-{own}"}]
        report["files"] = files
    elif kind == "referral":
        ip = "192.0.2.120" if seed == "sample" else rng.choice(_KNOWN_IPS)
        event = {"ipAddress": ip, "eventName": "Upload"}
        if seed == "sample":
            # Only the sample's upload has a time: every referral shares one of five addresses,
            # and two seen at one within linking's window (an hour) would link two strangers.
            event["dateTime"] = when.isoformat()
        user["ipCaptureEvent"] = [event]
        if rng.random() < 0.5 and seed != "sample":
            user["estimatedLocation"] = {"region": rng.choice(_STATES), "countryCode": "US"}
        report["files"] = files
    elif kind == "informational":
        files[0].pop("industryClassification")
        files[0]["fileAnnotations"] = {"potentialMeme": True, "viral": True}
        if seed != "sample" and rng.random() < 0.5:
            files[0]["originalFileHash"] = [{"value": rng.choice(_MEMES), "hashType": "MD5"}]
            report["batchedReport"] = {"reason": "VIRAL_POTENTIAL_MEME"}
        report["files"] = files
        report["incidentSummary"]["reportAnnotations"] = {"informational": True}
        user["estimatedLocation"] = {"countryCode": "GB"}
    else:  # no_location: identifiers and a file, but nothing that says where
        user.pop("personOrUserReportedPerson")
        user["ipCaptureEvent"] = [{"ipAddress": "203.0.113.200", "eventName": "Login",
                                   "possibleProxy": True}]
        report["files"] = files
    report["personOrUserReported"] = user
    report["additionalInfo"] = "Synthetic report generated for the tipline model."
    return _in_schema_order(report)


# The public schema's element order: the JSON form does not need it, the XML form does.
_ORDER = ("batchedReport", "incidentSummary", "internetDetails", "lawEnforcement", "reporter",
          "personOrUserReported", "intendedRecipient", "victim", "additionalInfo", "files")
_USER_ORDER = ("personOrUserReportedPerson", "espIdentifier", "espService", "screenName",
               "ipCaptureEvent", "deviceId", "priorCTReports", "estimatedLocation")


def _in_schema_order(report: dict[str, Any]) -> dict[str, Any]:
    ordered = {k: report[k] for k in _ORDER if k in report}
    user = ordered.get("personOrUserReported")
    if user is not None:
        ordered["personOrUserReported"] = {k: user[k] for k in _USER_ORDER if k in user}
    return ordered


def scenario(count: int, seed: int = 1, recurring_share: float = RECURRING_SHARE
             ) -> list[dict[str, Any]]:
    """A mix of kinds roughly like the real stream: mostly referrals and informational reports;
    `recurring_share` of them by recurring offenders."""
    rng = random.Random(seed)
    weights = {"escalated": 0.05, "referral": 0.55, "informational": 0.3, "no_location": 0.1}
    kinds = rng.choices(list(weights), weights=list(weights.values()), k=count)
    return [synthetic_report(kind, seed=f"{seed}-{i}",
                             offender=recurring_offender(f"{kind}:{seed}-{i}", recurring_share))
            for i, kind in enumerate(kinds)]


# ---- shaped load: a mix of kinds and the data quality of each ESP ----

LoadKind = Literal["escalated", "referral", "informational", "viral", "no_location"]
LOAD_KINDS: tuple[LoadKind, ...] = ("escalated", "referral", "informational", "viral",
                                    "no_location")


@dataclass(frozen=True)
class Mix:
    """The share of each kind of report in a load (normalised: the shares need not add up to 1).
    `viral` reports all carry one of a few meme hashes: they form bundles."""

    escalated: float = 0.05
    referral: float = 0.55
    informational: float = 0.25
    viral: float = 0.05
    no_location: float = 0.10

    def __post_init__(self) -> None:
        shares = [getattr(self, k) for k in LOAD_KINDS]
        if any(s < 0 for s in shares) or not sum(shares):
            raise ValueError("a mix needs shares of at least zero, some above zero")

    def weights(self) -> list[float]:
        return [getattr(self, k) for k in LOAD_KINDS]

    @classmethod
    def named(cls, shares: dict[str, float]) -> "Mix":
        """A mix of the kinds named (`{"viral": 1}`: viral reports only); none named: the default
        mix."""
        unknown = set(shares) - set(LOAD_KINDS)
        if unknown:
            raise ValueError(f"no kind {', '.join(sorted(unknown))}; the kinds are "
                             f"{', '.join(LOAD_KINDS)}")
        return cls(**{k: float(shares.get(k, 0)) for k in LOAD_KINDS}) if shares else cls()


@dataclass(frozen=True)
class EspProfile:
    """One ESP of a load and the quality of its data: the share of its reports that keep their
    location clues, whose reported user's contact the ESP verified, that name a victim's details;
    `weight`: its share of the load against the other ESPs'."""

    name: str
    weight: float = 1.0
    location: float = 1.0
    verified_contact: float = 0.5
    victim_details: float = 0.2

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", self.name):
            raise ValueError(f"an ESP profile's name is 1-40 of a-z, 0-9 and '-': {self.name!r}")
        for share in ("location", "verified_contact", "victim_details"):
            if not 0 <= getattr(self, share) <= 1:
                raise ValueError(f"{self.name}: {share} is a share between 0 and 1")
        if self.weight <= 0:
            raise ValueError(f"{self.name}: weight must be above zero")


def strip_location(report: dict[str, Any]) -> None:
    """Take every location clue out of a report (the ESP did not send one): estimated locations,
    addresses, and IP addresses (left only as proxies, which routing does not use)."""
    people = [report.get("personOrUserReported", {}), *report.get("victim", []),
              *report.get("intendedRecipient", [])]
    for who in people:
        who.pop("estimatedLocation", None)
        for person_key in ("personOrUserReportedPerson", "victimPerson", "intendedRecipientPerson"):
            person = who.get(person_key)
            if isinstance(person, dict):
                person.pop("address", None)
        for event in who.get("ipCaptureEvent", []):
            event["possibleProxy"] = True
        for account in who.get("associatedAccount", []):
            account.pop("address", None)


def unverify_contact(report: dict[str, Any]) -> None:
    """The ESP did not verify any email or phone of the report."""
    for who in (report.get("personOrUserReported", {}), *report.get("victim", [])):
        for person_key in ("personOrUserReportedPerson", "victimPerson"):
            person = who.get(person_key)
            if not isinstance(person, dict):
                continue
            for key in ("email", "phone"):
                person[key] = [{**c, "verified": False} if isinstance(c, dict) else c
                               for c in person.get(key, [])]


def load_report(kind: LoadKind, profile: EspProfile, seed: int | str,
                recurring_share: float = RECURRING_SHARE, people: str = "") -> dict[str, Any]:
    """One report of a load: of its kind, shaped by its ESP's data quality; by a recurring
    offender at `recurring_share` (whatever the ESP: an offender is reported by several).
    `people` salts the ids of the reports' own persons: two runs of one seed are two
    populations (the same reports otherwise), linked only through the recurring offenders."""
    rng = random.Random(f"load:{kind}:{profile.name}:{seed}")
    base: Kind = "informational" if kind == "viral" else kind
    report = synthetic_report(base, seed=f"{kind}-{seed}",
                              offender=recurring_offender(f"load:{kind}:{seed}", recurring_share),
                              people=people)
    if kind == "viral":
        report["files"][0]["originalFileHash"] = [{"value": rng.choice(_MEMES), "hashType": "MD5"}]
        report["batchedReport"] = {"reason": "VIRAL_POTENTIAL_MEME"}
    if rng.random() >= profile.location:
        strip_location(report)
    user = report["personOrUserReported"]
    person = user.setdefault("personOrUserReportedPerson", {})
    verified = rng.random() < profile.verified_contact
    own = _own_id(base, f"{people}{kind}-{seed}")
    for key in ("phone", "email"):
        if key in person:
            person[key] = [{**c, "verified": verified} if isinstance(c, dict) else c
                           for c in person[key]]
    person["email"] = person.get("email") or [
        {"value": f"user{own}@example.com", "verified": verified}]
    if rng.random() < profile.victim_details and not report.get("victim"):
        report["victim"] = [{"victimPerson": {"age": rng.randrange(8, 18)},
                             "espIdentifier": f"victim-{own}"}]
    return _in_schema_order(report)
