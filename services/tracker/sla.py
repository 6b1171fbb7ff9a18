"""Watches priority-1 cases handed to their local agency and announces each SLA breach."""

from datetime import datetime

from services.tracker import domain
from services.tracker.store import Ledger, now
from shared.logging import get_logger
from shared.worker import Periodic

log = get_logger(__name__)


class SlaWatcher:
    def __init__(self, ledger: Ledger, sla_hours: float, seconds_per_hour: float,
                 interval_ms: int) -> None:
        self.ledger = ledger
        self.sla_seconds = sla_hours * seconds_per_hour
        self.seconds_per_hour = seconds_per_hour
        self.interval_s = interval_ms / 1000

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

    def worker(self) -> Periodic:
        async def step() -> bool:
            return await self.check_once() >= 200

        return Periodic("sla-watcher", step, self.interval_s)
