"""Intake's collaborators, built once by its bootstrap (services.intake.app) and handed to its
routes with FastAPI's Depends: typed, so that a test builds intake with fakes of them."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends

from services.intake.batches import BatchReader
from services.intake.config import IntakeSettings
from services.intake.domain import degraded, load_esp
from services.intake.open_reports import OpenReport, UploadedFile
from services.intake.store import Accepted, Draft
from shared.clock import Clock
from shared.faults import NONE as NO_FAULTS
from shared.faults import Faults
from shared.offload import Offload
from shared.schemas.events import Lane, ReportSubmitted
from shared.schemas.report import FiledReport, Report
from shared.service import dependency


class SubmissionStore(Protocol):
    async def accept(self, esp: str, drafts: list[Draft]) -> list[Accepted]: ...


class LaneBacklogs(Protocol):
    async def over_bound(self, lanes: set[Lane]) -> set[Lane]: ...


class OpenReportStore(Protocol):
    async def open(self, esp: str, report: Report, now: float) -> int: ...

    async def read(self, esp: str, report_id: int, now: float) -> OpenReport: ...

    async def add_file(self, esp: str, report_id: int, file: UploadedFile, now: float) -> None: ...

    async def attach(self, esp: str, report_id: int, file: UploadedFile, now: float) -> None: ...

    async def retract(self, esp: str, report_id: int, now: float) -> None: ...

    async def finish(self, opened: OpenReport, filed: FiledReport, event: ReportSubmitted,
                     now: float) -> None: ...


@dataclass(frozen=True)
class Intake:
    settings: IntakeSettings
    esp_keys: dict[str, str]
    ispws_users: dict[str, str]
    submissions: SubmissionStore
    backlogs: LaneBacklogs
    open_reports: OpenReportStore
    batches: BatchReader
    clock: Clock
    checks: Offload  # CPU-bound checks of a request, off the event loop
    faults: Callable[[], Faults] = lambda: NO_FAULTS  # the workshop's faults in force

    def filing_esp(self, caller: str, load_profile: str | None) -> str:
        """Who files: the authenticated caller, or for synthetic load (the Tipline-Load header,
        from an ESP allowed to send it) the load profile's ESP, `load:<profile>`. ValueError
        when the header is not allowed or not a profile name."""
        if load_profile is None:
            return caller
        if caller not in self.settings.load_esp_names():
            raise ValueError(f"{caller} may not send synthetic load (TIPLINE_LOAD_ESPS)")
        return load_esp(load_profile)

    def as_filed(self, esp: str, report: FiledReport) -> FiledReport:
        """The report as it enters the pipeline: degraded if a fault says its ESP's data is."""
        return degraded(report, self.faults().degraded(esp))


IntakeDeps = Annotated[Intake, Depends(dependency(Intake))]
