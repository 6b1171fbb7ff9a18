"""Keeps a report's stored body while any case of it is open: handed to an agency and not yet
acknowledged, however long that takes, so that the agency acknowledging it late can still read
the report. Other bodies (every case acknowledged, or no case at all) expire
TIPLINE_REPORT_BODY_TTL_S after intake.

A body lives `ttl` from intake. Once a case of it has been open for half that, each pass (every
tenth of `ttl`, at most hourly) makes the body live `ttl` from then on: extended in time as long
as the case was handed within 0.4 × `ttl` of intake (12 days with the default 30).
"""

from services.tracker.reads import LedgerReads
from shared.bodies import ReportBodies
from shared.clock import Clock
from shared.logging import get_logger
from shared.worker import Periodic

log = get_logger(__name__)


class BodyKeeper:
    def __init__(self, reads: LedgerReads, bodies: ReportBodies, clock: Clock) -> None:
        self.reads = reads
        self.bodies = bodies
        self.clock = clock
        self.interval_s = min(3600.0, bodies.ttl_s / 10)

    async def keep_once(self, at: float | None = None) -> int:
        """Extend the bodies of the reports with a case open for half their lifetime or more;
        how many were extended."""
        reports = await self.reads.open_reports_handed_before(
            (at or self.clock.now()) - self.bodies.ttl_s / 2)
        kept = await self.bodies.keep(sorted(reports))
        if kept:
            log.info("bodies of reports with open cases kept", reports=kept)
        return kept

    def worker(self) -> Periodic:
        async def step() -> bool:
            await self.keep_once()
            return False

        return Periodic("body-keeper", step, self.interval_s)
