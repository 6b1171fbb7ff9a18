"""Build synthetic reports from a few named ingredients, for rule tests, golden tables and properties."""

import hashlib
from typing import Any

INCIDENTS = {
    "cp": "Child Pornography (possession, manufacture, and distribution)",
    "trafficking": "Child Sex Trafficking",
    "tourism": "Child Sex Tourism",
    "molestation": "Child Sexual Molestation",
    "domain": "Misleading Domain Name",
    "words": "Misleading Words or Digital Images on the Internet",
    "enticement": "Online Enticement of Children for Sexual Acts",
    "unsolicited": "Unsolicited Obscene Material Sent to a Child",
}
KNOWN_MD5 = [f"{'0' * 28}a{i:03d}" for i in range(1, 21)]


def novel_md5(seed: Any) -> str:
    return hashlib.md5(f"novel-{seed}".encode(), usedforsecurity=False).hexdigest()


def file(cls: str | None = "A2", known: bool = False, seed: Any = 0, **annotations: bool) -> dict:
    value = KNOWN_MD5[hash(str(seed)) % len(KNOWN_MD5)] if known else novel_md5(seed)
    entry: dict[str, Any] = {"originalFileHash": [{"hashType": "MD5", "value": value}]}
    if cls:
        entry["industryClassification"] = cls
    if annotations:
        entry["fileAnnotations"] = annotations
    return entry


def build(
    incident: str = "cp",
    escalate: str | None = None,
    annotations: dict[str, bool] | None = None,
    user: tuple[str, ...] = ("id",),
    ips: tuple[tuple[str, bool], ...] = (),
    location: tuple[str, str | None] | None = ("US", "CA"),
    victims: tuple[dict, ...] = (),
    files: tuple[dict, ...] = (),
    content: str | None = None,
    info: str | None = None,
) -> dict[str, Any]:
    summary: dict[str, Any] = {"incidentType": INCIDENTS[incident],
                               "incidentDateTime": "2026-02-01T12:00:00+00:00"}
    if escalate:
        summary["escalateToHighPriority"] = escalate
    if annotations:
        summary["reportAnnotations"] = annotations
    person: dict[str, Any] = {}
    contact: dict[str, Any] = {}
    if "email" in user:
        contact["email"] = ["user1001@example.com"]
    if "verified-email" in user:
        contact["email"] = [{"value": "user1001@example.com", "verified": True}]
    if "phone" in user:
        contact["phone"] = ["+1-555-0100"]
    if contact:
        person["personOrUserReportedPerson"] = contact
    if "id" in user:
        person["espIdentifier"] = "user-1001"
    if "screen" in user:
        person["screenName"] = "synthetic_user"
    if ips:
        person["ipCaptureEvent"] = [{"ipAddress": a, "possibleProxy": p} for a, p in ips]
    if location:
        country, region = location
        person["estimatedLocation"] = {"countryCode": country, **({"region": region} if region else {})}
    report: dict[str, Any] = {
        "incidentSummary": summary,
        "reporter": {"reportingPerson": {"email": ["safety@esp.example.com"]}},
        "personOrUserReported": person,
    }
    if victims:
        report["victim"] = [
            {"victimPerson": {"age": v["age"]} if v.get("age") is not None else {},
             **({"espIdentifier": "victim-7"} if v.get("id", True) else {})}
            for v in victims
        ]
    if files:
        report["files"] = list(files)
    if content:
        report["internetDetails"] = [{"chatImIncident": {"content": content}}]
    if info:
        report["additionalInfo"] = info
    return report
