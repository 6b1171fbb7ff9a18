"""The one path by which anything is written to a stream.

Every entry is encoded here in the wire format (`shared.wire`), and only for a stream its writer's
contract produces, carrying an event of that channel's type: a store, a handler or a Lua script
cannot put an undeclared stream or a stray event type on the wire. Writes leave in four forms,
all made here:

- a command of a handler's effects, applied by the consume loop's commit (`command`);
- a write queued in a caller's pipeline or transaction (`queue`);
- the flat field list a Lua script adds with `publish(stream, args, first)` from `LUA` (`args`);
- a deferred entry, kept as a member of a sorted set until it is due, then added by
  `publish_member(stream, member)` from `LUA` (`member`).

Replaying a dead letter writes its original fields back to the stream they came from, verbatim
(`replay_args`, for a stream of the stack only).
"""

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pydantic import BaseModel

from shared import wire
from shared.contracts import Contract
from shared.effects import Command

# Lua functions for the scripts that write entries; ARGV and the field names come from here.
LUA = f"""
local function publish(stream, args, first, last)
  return redis.call('XADD', stream, '*', unpack(args, first, last))
end
local function publish_member(stream, member)
  local sep = string.find(member, '|', 1, true)
  local trace, data = string.sub(member, 1, sep - 1), string.sub(member, sep + 1)
  if trace == '' then
    return redis.call('XADD', stream, '*', '{wire.DATA_FIELD}', data)
  end
  return redis.call('XADD', stream, '*', '{wire.DATA_FIELD}', data, '{wire.TRACE_FIELD}', trace)
end
"""


class Pipe(Protocol):
    """A redis-py pipeline or transaction (either client's): writes queued, run together."""

    def xadd(self, name: Any, fields: Any, *args: Any, **kwargs: Any) -> Any: ...


class Unpublishable(ValueError):
    """A write the writer's contract does not declare: the stream, or the event's type."""


class Publisher:
    """Entries of one service, checked against its contract."""

    def __init__(self, contract: Contract) -> None:
        self.contract = contract
        self._checked: set[tuple[str, type]] = set()  # (stream, event type) pairs found allowed

    def check(self, stream: str, event: BaseModel) -> None:
        if (stream, type(event)) in self._checked:
            return
        channel = self.contract.produced(stream)
        if channel is None:
            raise Unpublishable(f"{stream} is not a stream {self.contract.service} produces")
        if not channel.carries(event):
            raise Unpublishable(f"{stream} carries {' | '.join(t.__name__ for t in channel.types)},"
                                f" not {type(event).__name__}")
        self._checked.add((stream, type(event)))

    def fields(self, stream: str, event: BaseModel, traceparent: str | None = None) -> wire.Fields:
        self.check(stream, event)
        return wire.encode(event, traceparent)

    def args(self, stream: str, event: BaseModel, traceparent: str | None = None) -> list[bytes]:
        """The entry's fields as a flat list, for a Lua script's `publish`."""
        return [x for pair in self.fields(stream, event, traceparent).items() for x in pair]

    def command(self, stream: str, event: BaseModel, traceparent: str | None = None) -> Command:
        """The entry as a command of a commit (the consume loop's)."""
        return ("XADD", stream, "*", *self.args(stream, event, traceparent))

    def queue(self, pipe: Pipe, stream: str, event: BaseModel,
              traceparent: str | None = None) -> None:
        """The entry queued in the caller's pipeline or transaction."""
        pipe.xadd(stream, self.fields(stream, event, traceparent))

    def member(self, stream: str, event: BaseModel, traceparent: str | None = None) -> bytes:
        """The entry kept for later, "traceparent|data", for a Lua script's `publish_member`."""
        fields = self.fields(stream, event, traceparent)
        return fields.get(wire.TRACE, b"") + b"|" + fields[wire.DATA]


def replay_args(stream: str, fields: Mapping[str, str], of_the_stack: Callable[[str], bool]
                ) -> list[Any]:
    """A dead letter's original fields for a Lua script's `publish`, back to the stream they were
    read from: one of the stack's own streams, never another."""
    if not of_the_stack(stream):
        raise Unpublishable(f"{stream} is not a stream of this stack")
    return [x for pair in fields.items() for x in pair]


def queue_poison(pipe: Pipe, stream: str, count: int, of_the_stack: Callable[[str], bool]
                 ) -> None:
    """Poison entries on purpose (a workshop's fault): fields that are no event at all, which
    every group reading the stream dead-letters at once. Only to a stream of the stack."""
    if not of_the_stack(stream):
        raise Unpublishable(f"{stream} is not a stream of this stack")
    for n in range(count):
        pipe.xadd(stream, {wire.DATA: b"\xff poison entry " + str(n).encode()
                           + b", written by tipline chaos: not JSON, not an event"})
