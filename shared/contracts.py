"""What each service consumes and produces, declared once as typed channels.

A `Channel` is a stream (or a pattern of streams, `agency:{agency_id}:inbox`), the event type it
carries and what it is for. Each service declares its `Contract` in `services/<name>/contract.py`.
The declarations do real work at run time: a handler is checked against the event type of every
channel it is given (`check_handler`), and `shared.publishing` refuses to write an event to a
stream the service does not produce, or an event of another type than the channel's. Above the
services, `tipline.docgen` renders them into each service's AsyncAPI document and the README's
service table.
"""

import inspect
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.schemas.events import MessageDeadLettered
from shared.topology import Topology


def event_types(annotation: Any) -> tuple[type, ...]:
    """The event classes an annotation admits: a class, a union of classes, or either inside
    `Annotated` (a discriminated union)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return event_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return tuple(t for arg in typing.get_args(annotation) for t in event_types(arg))
    if isinstance(annotation, type):
        return (annotation,)
    raise TypeError(f"not an event type: {annotation!r}")


@dataclass(frozen=True)
class Channel:
    stream: str
    event: Any
    description: str

    @property
    def types(self) -> tuple[type, ...]:
        return event_types(self.event)

    def names(self, stream: str) -> bool:
        """Whether a concrete stream name is this channel ('{agency_id}' matches one id)."""
        if "{" not in self.stream:
            return stream == self.stream
        pattern = re.sub(r"\\\{[a-z_]+\\\}", "[^:]+", re.escape(self.stream))
        return re.fullmatch(pattern, stream) is not None

    def carries(self, event: object) -> bool:
        return isinstance(event, self.types)


@dataclass(frozen=True)
class Contract:
    service: str
    summary: str
    port: int
    consumes: list[Channel] = field(default_factory=list)
    produces: list[Channel] = field(default_factory=list)
    http: list[str] = field(default_factory=list)

    def produced(self, stream: str) -> Channel | None:
        """The produced channel a stream belongs to, or None."""
        return next((c for c in self.produces if c.names(stream)), None)


def check_handler(channel: Channel, handler: Callable[..., Any]) -> None:
    """A handler's first parameter must accept every event type of the channel it is given."""
    parameters = list(inspect.signature(handler).parameters.values())
    if not parameters:
        raise TypeError(f"{handler!r} takes no event")
    hints = typing.get_type_hints(handler, include_extras=True)
    annotation = hints.get(parameters[0].name)
    if annotation is None:
        raise TypeError(f"{getattr(handler, '__qualname__', handler)} does not say which event "
                        f"it takes; {channel.stream} carries {_names(channel.types)}")
    accepted = event_types(annotation)
    missing = [t for t in channel.types if not issubclass(t, accepted)]
    if missing:
        raise TypeError(f"{getattr(handler, '__qualname__', handler)} takes {_names(accepted)}, "
                        f"but {channel.stream} carries {_names(tuple(missing))}")


def _names(kinds: tuple[type, ...]) -> str:
    return " | ".join(t.__name__ for t in kinds)


def dead_letters(topology: Topology) -> Channel:
    """Every consuming service produces dead letters: what it could not process, and why."""
    return Channel(topology.dead_letters, MessageDeadLettered,
                   "Entries this service could not process, with the reason, the source stream "
                   "and the original fields.")
