"""What every command shares: printing, the error a command ends with, one request with a key."""

import json
import sys
from typing import Any

import httpx


def out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


class ApiError(Exception):
    """A service answered with an error, or did not answer, or a command was given wrongly: the
    message says which; `code` is the command's exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def call(method: str, url: str, key: str, client: httpx.Client | None = None,
         **kwargs: Any) -> httpx.Response:
    """One request with a Bearer key (on `client`'s connections when given); connection failures
    and refused keys become ApiError."""
    try:
        r = (client or httpx).request(method, url, headers={"Authorization": f"Bearer {key}"},
                                      timeout=10, **kwargs)
    except httpx.HTTPError as exc:
        raise ApiError(f"{url.split('/v1')[0]} did not answer ({type(exc).__name__}); is the stack "
                       "up?") from exc
    if r.status_code == 401:
        raise ApiError("the key was refused (401): pass --key")
    if r.status_code == 403:
        raise ApiError(f"not allowed with this key (403): {r.json().get('detail')}")
    return r


def checked(r: httpx.Response) -> httpx.Response:
    """An answer that must be a success: a refusal's detail becomes the ApiError (exit 1)."""
    if r.status_code in (404, 409, 422):
        detail = r.json().get("detail")
        raise ApiError(detail if isinstance(detail, str) else json.dumps(detail), 1)
    r.raise_for_status()
    return r
