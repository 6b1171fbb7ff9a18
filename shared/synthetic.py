"""Synthetic reports, obviously fake: example.com addresses, documentation IP ranges, made-up hashes."""

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
_MEMES = tuple(f"{'e' * 28}{i:04d}" for i in range(5))


def _fake_md5(rng: random.Random) -> str:
    return hashlib.md5(f"synthetic-{rng.random()}".encode(), usedforsecurity=False).hexdigest()


def synthetic_report(kind: Kind, seed: int | str = 0) -> dict[str, Any]:
    """One synthetic report of the given kind, as the JSON an ESP would submit (the JSON form of
    the public schema, with its files inline)."""
    rng = random.Random(f"{kind}:{seed}")
    n = rng.randrange(10_000, 99_999)
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
    contact = [{"value": f"user{n}@example.com", "verified": rng.random() < 0.5}]
    user: dict[str, Any] = {
        "personOrUserReportedPerson": {"email": contact},
        "espIdentifier": f"user-{n}", "screenName": f"synthetic_user_{n}",
    }
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
        report["victim"] = [{"victimPerson": {"age": 14}, "espIdentifier": f"victim-{n}"}]
        report["files"] = files
    elif kind == "referral":
        ip = "192.0.2.120" if seed == "sample" else rng.choice(_KNOWN_IPS)
        user["ipCaptureEvent"] = [{"ipAddress": ip, "eventName": "Upload",
                                   "dateTime": when.isoformat()}]
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
_USER_ORDER = ("personOrUserReportedPerson", "espIdentifier", "screenName", "ipCaptureEvent",
               "estimatedLocation")


def _in_schema_order(report: dict[str, Any]) -> dict[str, Any]:
    ordered = {k: report[k] for k in _ORDER if k in report}
    user = ordered.get("personOrUserReported")
    if user is not None:
        ordered["personOrUserReported"] = {k: user[k] for k in _USER_ORDER if k in user}
    return ordered


def scenario(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """A mix of kinds roughly like the real stream: mostly referrals and informational reports."""
    rng = random.Random(seed)
    weights = {"escalated": 0.05, "referral": 0.55, "informational": 0.3, "no_location": 0.1}
    kinds = rng.choices(list(weights), weights=list(weights.values()), k=count)
    return [synthetic_report(kind, seed=f"{seed}-{i}") for i, kind in enumerate(kinds)]


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


def load_report(kind: LoadKind, profile: EspProfile, seed: int | str) -> dict[str, Any]:
    """One report of a load: of its kind, shaped by its ESP's data quality."""
    rng = random.Random(f"load:{kind}:{profile.name}:{seed}")
    report = synthetic_report("informational" if kind == "viral" else kind, seed=f"{kind}-{seed}")
    if kind == "viral":
        report["files"][0]["originalFileHash"] = [{"value": rng.choice(_MEMES), "hashType": "MD5"}]
        report["batchedReport"] = {"reason": "VIRAL_POTENTIAL_MEME"}
    if rng.random() >= profile.location:
        strip_location(report)
    user = report["personOrUserReported"]
    person = user.setdefault("personOrUserReportedPerson", {})
    verified = rng.random() < profile.verified_contact
    person["email"] = [{**e, "verified": verified} if isinstance(e, dict) else e
                       for e in person.get("email", [])] or [
        {"value": f"user-{rng.randrange(10**6)}@example.com", "verified": verified}]
    if rng.random() < profile.victim_details and not report.get("victim"):
        report["victim"] = [{"victimPerson": {"age": rng.randrange(8, 18)},
                             "espIdentifier": f"victim-{rng.randrange(10**6)}"}]
    return _in_schema_order(report)
