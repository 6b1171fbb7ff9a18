"""Watches priority-1 cases handed to their local agency and announces each SLA breach."""

import asyncio
from datetime import datetime

from services.tracker import domain
from services.tracker.store import Ledger, now
from shared.logging import get_logger

log = get_logger(__name__)


class SlaWatcher:
    def __init__(self, ledger: Ledger, sla_hours: float, seconds_per_hour: float,
                 interval_ms: int) -> None:
        self.ledger = ledger
        self.sla_seconds = sla_hours * seconds_per_hour
        self.seconds_per_hour = seconds_per_hour
        self.interval = interval_ms / 1000
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    async def check_once(self) -> int:
        """Announce the breaches due now; how many were announced."""
        t = now()
        due = []
        for report_id, agency, level, detail in await self.ledger.overdue_cases(t - self.sla_seconds,
                                                                                limit=200):
            handed = datetime.fromisoformat(detail["at"]).timestamp() if detail else t
            due.append((report_id, agency, level, domain.sla_breach(
                report_id, agency, detail, level + 1, (t - handed) / self.seconds_per_hour)))
        if not due:
            return 0
        announced = 0
        for (report_id, agency, _, breach), done in zip(due, await self.ledger.announce(due, t),
                                                        strict=True):
            if done and breach:
                announced += 1
                log.warning("SLA breach", report_id=report_id, agency=agency, level=breach.level)
        return announced

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.check_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away for a moment: look again on the next tick
                log.warning("SLA check failed", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.interval)
