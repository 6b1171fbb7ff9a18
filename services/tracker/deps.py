"""The tracker's collaborators, built once by its bootstrap (services.tracker.app) and handed to
its routes with FastAPI's Depends: typed, so that a test builds the tracker with fakes of them."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Depends
from pydantic import BaseModel

from services.tracker.config import TrackerSettings
from services.tracker.contract import ReportBodyRead
from services.tracker.domain import Policy
from services.tracker.reads import Figures
from shared.auth import Caller, Role, identify, session_caller
from shared.clock import Clock
from shared.directory import Directory
from shared.faults import Fault, Faults
from shared.groups import GroupDetail
from shared.service import dependency


class Reads(Protocol):
    async def timeline_fields(self, report_id: int) -> dict[str, str]: ...

    async def timelines(self, report_ids: list[int]) -> list[dict[str, str]]: ...

    async def figures(self, agency_ids: list[str], now: float) -> Figures: ...

    async def series(self, metrics: Sequence[str], hours: list[int]) -> dict[str, dict[int, int]]:
        ...

    async def dark_cases(self, offset: int, limit: int) -> tuple[int, list[tuple[int, str, float]]]:
        ...

    async def agency_cases(self, agency_id: str, status: str, offset: int, limit: int
                           ) -> tuple[int, list[tuple[int, float, bool]]]: ...

    async def agency_queue(self, agency_id: str, offset: int, limit: int
                           ) -> tuple[int, list[tuple[int, float]]]: ...

    async def group_of(self, report_id: int, limit: int = 200
                       ) -> tuple[int | None, list[tuple[int, str | None]]]: ...


class DeadLetterStore(Protocol):
    async def recent(self, count: int, before: str | None = None
                     ) -> list[tuple[str, dict[str, Any], bool]]: ...

    async def get(self, entry_id: str) -> tuple[dict[str, Any], bool] | None: ...

    async def replay(self, entry_id: str, letter: dict[str, Any]) -> str | None: ...


class ResponsePublisher(Protocol):
    async def publish(self, events: Sequence[BaseModel]) -> None: ...


class AccessStore(Protocol):
    """The one way a report's body leaves the tracker: read and recorded in one step."""

    async def read_body(self, read: ReportBodyRead) -> bytes | None: ...

    async def recent(self, count: int, before: str | None = None
                     ) -> list[tuple[str, ReportBodyRead]]: ...

    async def of_report(self, report_id: int) -> list[ReportBodyRead]: ...


class WorkshopStore(Protocol):
    async def set_fault(self, fault: Fault) -> None: ...

    async def clear_faults(self, kind: str | None = None, target: str | None = None) -> int: ...

    async def active_faults(self, now: float) -> Faults: ...

    async def supervised(self) -> dict[str, Any] | None: ...

    async def scenario(self) -> dict[str, Any] | None: ...

    async def set_scenario(self, banner: dict[str, Any], ttl_s: int = 3600) -> None: ...

    async def clear_scenario(self) -> None: ...

    async def poison(self, stream: str, count: int) -> int: ...

    async def epoch(self, now: float) -> float: ...


class GroupStates(Protocol):
    """Every consumer group of the stack, with its backlog, progress and live consumers."""

    async def __call__(self) -> list[GroupDetail]: ...


@dataclass(frozen=True)
class Tracker:
    settings: TrackerSettings
    policy: Policy
    directory: Directory
    reads: Reads
    dead_letters: DeadLetterStore
    responses: ResponsePublisher
    access: AccessStore
    group_states: GroupStates
    workshop: WorkshopStore
    clock: Clock
    analyst_keys: dict[str, str]
    admin_keys: dict[str, str]
    agency_keys: dict[str, str]
    replayable: Callable[[str], bool]

    @property
    def agency_kinds(self) -> dict[str, tuple[str, str]]:
        """Agency id -> (kind, played by)."""
        return {a.id: (a.kind, a.played_by) for a in self.directory.agencies}

    @property
    def readers(self) -> dict[str, str]:
        """Who may read the tracker's API: analysts and admins."""
        return {**self.analyst_keys, **self.admin_keys}

    @property
    def keys(self) -> dict[Role, dict[str, str]]:
        """Every key the tracker knows, by role (one role per key: checked at start-up)."""
        return {"agency": self.agency_keys, "analyst": self.analyst_keys, "admin": self.admin_keys}

    def caller(self, token: str | None, session: str | None) -> Caller | None:
        """Who presents this key, or, without a key, this dashboard session (an analyst's or an
        admin's); None for nobody the tracker knows."""
        if token:
            return identify(self.keys, token)
        return session_caller({"analyst": self.analyst_keys, "admin": self.admin_keys}, session,
                              self.clock.now())


TrackerDeps = Annotated[Tracker, Depends(dependency(Tracker))]
