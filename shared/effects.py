"""What handling one message produces, as values: the consume loop turns them into Redis commands.

A handler never talks to Redis. It records events to publish now, events to publish when they are
due (kept in a sorted set until then), plain commands (an HINCRBY) and items for its subscription's
collector; a unit test reads them back as they are.
"""

from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

Command = tuple[str | bytes | int | float, ...]


@dataclass(frozen=True)
class Published:
    stream: str
    event: BaseModel


@dataclass(frozen=True)
class Deferred:
    """An event to publish on `stream` at `due` (epoch seconds): kept in the sorted set `key`
    until then (shared.publishing's `publish_member` releases it)."""

    key: str
    due: float
    stream: str
    event: BaseModel


class Collector(Protocol):
    """Writes the collected items of a batch's fresh entries inside the loop's commit script.

    `lua` is a chunk run after the commit's own writes, with `items` (the encoded items, in order)
    and KEYS in scope (KEYS[1] the stream committed, then those of `keys`); it must be idempotent
    per item as well as atomic."""

    lua: str

    def keys(self) -> list[str]: ...

    def encode(self, item: Any) -> str | bytes: ...


@dataclass
class Effects:
    """`prepared` is what the subscription's prepare step looked up for this message, if any."""

    prepared: Any = None
    published: list[Published] = field(default_factory=list)
    deferred: list[Deferred] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    collected: list[Any] = field(default_factory=list)

    def publish(self, stream: str, event: BaseModel) -> None:
        self.published.append(Published(stream, event))

    def publish_at(self, due: float, key: str, stream: str, event: BaseModel) -> None:
        self.deferred.append(Deferred(key, due, stream, event))

    def command(self, *args: str | bytes | int | float) -> None:
        self.commands.append(tuple(args))

    def collect(self, item: Any) -> None:
        self.collected.append(item)

    def events(self, stream: str | None = None) -> list[BaseModel]:
        """The events published (to one stream), in order: what tests read."""
        return [p.event for p in self.published if stream is None or p.stream == stream]
