"""Intake rules: who may submit, which lane a report takes, when two submissions are the same."""

import hashlib
import hmac

from shared.schemas.events import Lane
from shared.schemas.report import Report


class EspKeyError(ValueError):
    pass


def parse_esp_keys(spec: str) -> dict[str, str]:
    """Parse `name:key,name:key` into {key: name}; reject blanks and reused keys."""
    keys: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        name, sep, key = pair.partition(":")
        name, key = name.strip(), key.strip()
        if not sep or not name or not key:
            raise EspKeyError(f"ESP key entry {pair.split(':')[0]!r}... is not of the form name:key")
        if key in keys:
            raise EspKeyError(f"ESPs {keys[key]!r} and {name!r} share a key")
        keys[key] = name
    if not keys:
        raise EspKeyError("no ESP keys configured")
    return keys


def authenticate(keys: dict[str, str], authorization: str | None) -> str | None:
    """The ESP name for an `Authorization: Bearer <key>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    token = token.strip()
    for key, name in keys.items():
        if hmac.compare_digest(key.encode(), token.encode()):
            return name
    return None


def lane_for(report: Report) -> Lane:
    """escalateToHighPriority set by the ESP: the escalated lane."""
    return "escalated" if report.escalated else "standard"


def fingerprint(report: Report) -> str:
    """Same report content, same fingerprint: tells a retry from a reused Idempotency-Key."""
    canonical = report.model_dump_json(by_alias=True, exclude_defaults=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
