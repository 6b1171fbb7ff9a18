"""Credentials from settings (`name:key` pairs), checked in constant time, as FastAPI dependencies.

Every kind of caller has its own keys and its own security scheme in the OpenAPI documents; the
roles, and what each may read (docs/guarantees.md, "Who reads what", has the route-by-route table):

- an ESP (intake; user:password pairs and HTTP Basic for the XML reporting API) files reports and
  reads nothing of them back;
- an agency reads its own queue, and the body of a report it holds a case of;
- an analyst reads the ledger, the gap and metadata (timelines, queues, dead letters without their
  payloads), never a report's body;
- an admin reads what an analyst reads, dead-letter payloads and the access log, sets faults and
  replays; it reads a report's body only through the one route made for it, with a stated reason.

A caller's name is the configured account name of its key (an ESP, an agency id, an analyst's or
admin's account), never a person's details: it is what the access log records. A key is never
logged.
"""

import base64
import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from fastapi import HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer


class CredentialsError(ValueError):
    pass


Role = Literal["esp", "agency", "analyst", "admin"]
ROLES: tuple[Role, ...] = ("esp", "agency", "analyst", "admin")


@dataclass(frozen=True)
class Caller:
    """Who is calling: the configured name its key belongs to, and the role of that key."""

    name: str
    role: Role

    @property
    def text(self) -> str:
        """As the access log and a timeline show it: `icac-wa (agency)`."""
        return f"{self.name} ({self.role})"


def _pairs(spec: str, what: str, form: str) -> list[tuple[str, str]]:
    """`a:b,a:b` as pairs; a blank side or a missing colon is an error naming the entry's first
    part only (the second is a secret)."""
    pairs = []
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        first, sep, second = pair.partition(":")
        first, second = first.strip(), second.strip()
        if not sep or not first or not second:
            raise CredentialsError(f"{what} entry {first!r}... is not of the form {form}")
        pairs.append((first, second))
    if not pairs:
        raise CredentialsError(f"no {what}s configured")
    return pairs


def parse_keys(spec: str, what: str = "key") -> dict[str, str]:
    """Parse `name:key,name:key` into {key: name}; reject blanks and reused keys."""
    keys: dict[str, str] = {}
    for name, key in _pairs(spec, what, "name:key"):
        if key in keys:
            raise CredentialsError(f"{keys[key]!r} and {name!r} share a {what}")
        keys[key] = name
    return keys


def match(keys: dict[str, str], token: str | None) -> str | None:
    """The name a key belongs to, or None. Every key is compared, whatever matches first."""
    if not token:
        return None
    found = None
    presented = token.encode()
    for key, name in keys.items():
        if hmac.compare_digest(key.encode(), presented):
            found = name
    return found


def one_role_per_key(keys: Mapping[Role, dict[str, str]]) -> None:
    """A key that opens two roles would make its holder both: refuse it, naming the names (the
    key is a secret)."""
    seen: dict[str, tuple[Role, str]] = {}
    for role, role_keys in keys.items():
        for key, name in role_keys.items():
            if key in seen:
                other_role, other = seen[key]
                raise CredentialsError(f"{other_role} {other!r} and {role} {name!r} share a key")
            seen[key] = (role, name)


def identify(keys: Mapping[Role, dict[str, str]], token: str | None) -> Caller | None:
    """The caller a key belongs to, of whichever role, or None. Every key of every role is
    compared, whatever matches first (keys are one role each: `one_role_per_key`)."""
    found = None
    for role, role_keys in keys.items():
        name = match(role_keys, token)
        if name is not None:
            found = Caller(name, role)
    return found


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate(keys: dict[str, str], authorization: str | None) -> str | None:
    """The name for an `Authorization: Bearer <key>` header, or None."""
    return match(keys, bearer_token(authorization))


def parse_users(spec: str, what: str = "user") -> dict[str, str]:
    """Parse `user:password,user:password` into {user: password}; reject blanks and repeats."""
    users: dict[str, str] = {}
    for user, password in _pairs(spec, what, "user:password"):
        if user in users:
            raise CredentialsError(f"{what} {user!r} is listed twice")
        users[user] = password
    return users


def basic_user(users: dict[str, str], authorization: str | None) -> str | None:
    """The user of an `Authorization: Basic ...` header whose password is right, or None. The
    password is compared in constant time, and compared (with a stand-in) for an unknown user
    too, so timing tells neither."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    expected = users.get(user)
    same = hmac.compare_digest((expected or "\0 no such user").encode(), password.encode())
    return user if sep and expected is not None and same else None


# The keys a request may present, and the time now (a session cookie expires).
KeyLookup = Callable[[Request], tuple[dict[str, str], float]]


def bearer(scheme_name: str, description: str, keys: KeyLookup,
           sessions: bool = False) -> Callable[..., Awaitable[str]]:
    """A dependency that answers the caller's name, or 401 with a Bearer challenge. With
    `sessions`, a browser's session cookie (the dashboard's) is accepted too."""
    scheme = HTTPBearer(auto_error=False, scheme_name=scheme_name, description=description)

    async def caller(request: Request,
                     credentials: HTTPAuthorizationCredentials | None = Security(scheme)) -> str:
        known, now = keys(request)
        name = match(known, credentials.credentials if credentials else None)
        if name is None and sessions and not credentials:
            name = session_name(known, request.cookies.get(SESSION_COOKIE), now)
        if name is None:
            raise HTTPException(
                status_code=401,
                detail=f"a valid 'Authorization: Bearer <key>' header is required ({scheme_name})",
                headers={"WWW-Authenticate": f'Bearer realm="{scheme_name}"'})
        return name

    return caller


# ---- browser sessions (the dashboard): a signed cookie instead of a header ----

SESSION_COOKIE = "tipline_session"
SESSION_HOURS = 12


def _signature(key: str, name: str, expires: int) -> str:
    return hmac.new(key.encode(), f"tipline-session:{name}:{expires}".encode(), "sha256").hexdigest()


def session_token(keys: dict[str, str], key: str, now: float) -> str | None:
    """A session for whoever holds `key` (signed with that key, so it ends when the key is
    removed), or None when the key is not one of `keys`."""
    name = match(keys, key)
    if name is None:
        return None
    expires = int(now) + SESSION_HOURS * 3600
    return f"{name}:{expires}:{_signature(key, name, expires)}"


def session_caller(keys: Mapping[Role, dict[str, str]], token: str | None,
                   now: float) -> Caller | None:
    """Whose session a cookie is, and in which role, or None."""
    found = None
    for role, role_keys in keys.items():
        name = session_name(role_keys, token, now)
        if name is not None:
            found = Caller(name, role)
    return found


def session_name(keys: dict[str, str], token: str | None, now: float) -> str | None:
    """Whose session a cookie is, or None when it is forged, expired or of a removed key."""
    if not token or token.count(":") < 2:
        return None
    name, expires_text, signature = token.rsplit(":", 2)
    if not expires_text.isdigit() or int(expires_text) < now:
        return None
    found = None
    for key, owner in keys.items():
        if owner == name and hmac.compare_digest(_signature(key, name, int(expires_text)),
                                                 signature):
            found = name
    return found
