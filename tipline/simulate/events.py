"""The event queue: events in simulated time, those at the same time in the order they were
pushed."""

import heapq
from dataclasses import dataclass, field
from itertools import count
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class EventQueue(Generic[T]):
    _heap: list[tuple[float, int, T]] = field(default_factory=list)
    _order: "count[int]" = field(default_factory=count)

    def push(self, at: float, event: T) -> None:
        heapq.heappush(self._heap, (at, next(self._order), event))

    def pop(self) -> tuple[float, T]:
        at, _, event = heapq.heappop(self._heap)
        return at, event

    def next_at(self) -> float | None:
        """When the earliest event is due; None when the queue is empty."""
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._heap)
