"""The wire form of a stream entry: the event's JSON in one field, its trace context beside it.

`data` is what `redis-cli XRANGE` shows and what any client in any language can write;
`traceparent` (W3C trace context) links the consumer's span to the producer's. The field names are
defined here once and passed to every Lua script that writes an entry.
"""

from pydantic import BaseModel

DATA_FIELD = "data"
TRACE_FIELD = "traceparent"
DATA = DATA_FIELD.encode()
TRACE = TRACE_FIELD.encode()

Fields = dict[bytes, bytes]


def encode(event: BaseModel, traceparent: str | None = None) -> Fields:
    fields = {DATA: event.model_dump_json().encode()}
    if traceparent:
        fields[TRACE] = traceparent.encode()
    return fields


def payload(fields: Fields) -> bytes:
    return fields.get(DATA, b"")


def traceparent(fields: Fields) -> str | None:
    value = fields.get(TRACE)
    return value.decode(errors="replace") if value else None
