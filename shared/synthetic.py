"""Synthetic reports, obviously fake: example.com addresses, documentation IP ranges, made-up hashes."""

import hashlib
import random
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
