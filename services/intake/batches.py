"""A batch's body read within a memory bound: its envelope first, its reports one at a time.

The envelope (`{"reports": [...]}`) is decoded with each report left as a view of the body's bytes
(msgspec.Raw), so a batch over its report count, or not a batch at all, is refused after one scan
of its bytes, before any report is read; then each report is validated on its own, and only the
valid ones become objects. An invalid report costs its errors (the first 20 and a count), not a
copy of itself. Pure: the routes run it off the event loop (shared.offload).
"""

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from pydantic import ValidationError

from shared.http import MAX_ERRORS, field_errors
from shared.schemas.report import FiledReport


class BatchRefused(ValueError):
    """The batch as a whole is not acceptable: a 422 with these field errors, nothing done."""

    def __init__(self, errors: list[dict[str, Any]], count: int) -> None:
        super().__init__(f"{count} errors")
        self.body = {"detail": errors[:MAX_ERRORS], "errorCount": count}


@dataclass(frozen=True)
class Item:
    """One report of the batch: the report, or its errors (`{"detail": [...], "errorCount": n}`)."""

    index: int
    report: FiledReport | None = None
    errors: dict[str, Any] | None = None


# msgspec's words for the envelope's faults, as the field-error types pydantic gives them.
_TYPES = (("length <=", "too_long"), ("length >=", "too_short"), ("unknown field", "extra_forbidden"),
          ("missing required field", "missing"), ("Expected `array`", "list_type"),
          ("Expected `object`", "model_type"))


def _envelope_error(exc: msgspec.MsgspecError) -> dict[str, Any]:
    """msgspec's error (`Expected ... - at `$.reports``) as a field error: where and why; msgspec
    names types and lengths, never the submitted values."""
    message, _, path = str(exc).partition(" - at `")
    if not isinstance(exc, msgspec.ValidationError):  # (a ValidationError is a DecodeError too)
        return {"loc": [], "msg": f"Invalid JSON: {message}", "type": "json_invalid"}
    loc: list[str | int] = [p for p in path.rstrip("`").removeprefix("$").split(".") if p]
    kind = next((t for words, t in _TYPES if words in message), "value_error")
    return {"loc": loc, "msg": message, "type": kind}


class BatchReader:
    def __init__(self, max_reports: int) -> None:
        self.max_reports = max_reports
        reports = Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1, max_length=max_reports)]
        self._envelope = msgspec.defstruct("BatchEnvelope", [("reports", reports)],
                                           forbid_unknown_fields=True)
        self._decoder = msgspec.json.Decoder(self._envelope)

    def read(self, body: bytes) -> list[Item]:
        """Every report of the batch, valid or with its errors; BatchRefused when the envelope is
        not a batch of at most `max_reports` objects."""
        try:
            raw: list[msgspec.Raw] = self._decoder.decode(body).reports
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise BatchRefused([_envelope_error(exc)], 1) from None
        not_objects = [i for i, item in enumerate(raw) if memoryview(item)[:1] != b"{"]
        if not_objects:
            raise BatchRefused([{"loc": ["reports", i], "msg": "Input should be a valid dictionary",
                                 "type": "dict_type"} for i in not_objects[:MAX_ERRORS]],
                               len(not_objects))
        items = []
        for i, item in enumerate(raw):
            try:
                items.append(Item(i, report=FiledReport.model_validate_json(bytes(item))))
            except ValidationError as exc:
                items.append(Item(i, errors=field_errors(exc)))
        return items
