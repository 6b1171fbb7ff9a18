"""The one clock of the project: wall time as epoch seconds, injected wherever time is read.

Services run on `SYSTEM`; tests (and anything that runs time faster or slower) pass a
`ManualClock`, which moves only when told to.
"""

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        return time.time()


SYSTEM = SystemClock()


@dataclass
class ManualClock:
    """A clock that stands still until `advance` or `set`."""

    at: float = 1_800_000_000.0

    def now(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds

    def set(self, at: float) -> None:
        self.at = at
