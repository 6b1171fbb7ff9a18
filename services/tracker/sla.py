"""Watches every forwarded case until it is acknowledged, and announces each breach of its SLA:
the case has gone dark. A priority-1 case of its local agency is breached a second time (the
router re-notifies, then escalates); every other case once."""

from datetime import datetime

from services.tracker import domain
from services.tracker.breaches import BreachStore
from shared.clock import Clock
from shared.logging import get_logger
from shared.worker import Periodic

log = get_logger(__name__)

BATCH = 200


class SlaWatcher:
    def __init__(self, breaches: BreachStore, policy: domain.Policy, clock: Clock,
                 interval_ms: int) -> None:
        self.breaches = breaches
        self.policy = policy
        self.clock = clock
        self.interval_s = interval_ms / 1000
        self._last_due = 0

    async def check_once(self) -> int:
        """Announce the breaches due now; how many were announced."""
        t = self.clock.now()
        due = []
        for report_id, agency, level, detail in await self.breaches.overdue_cases(t, limit=BATCH):
            handed = datetime.fromisoformat(detail["at"]).timestamp() if detail else t
            breach = domain.sla_breach(report_id, agency, detail, level + 1,
                                       self.policy.hours_between(handed, t), self.policy)
            lane, why = detail.get("lane", "p1"), detail.get("why", "jurisdiction")
            again = breach is not None and level + 1 < self.policy.breach_levels(lane, why)
            due.append((report_id, agency, level, breach,
                        self.policy.next_deadline(lane, t) if again else None))
        self._last_due = len(due)
        if not due:
            return 0
        announced = 0
        for (report_id, agency, _, breach, _), done in zip(due, await self.breaches.announce(due),
                                                           strict=True):
            if done and breach:
                announced += 1
                log.info("SLA breach: the case has gone dark", report_id=report_id, agency=agency,
                         level=breach.level, lane=breach.lane)
        return announced

    def worker(self) -> Periodic:
        async def step() -> bool:
            await self.check_once()
            return self._last_due >= BATCH

        return Periodic("sla-watcher", step, self.interval_s)
