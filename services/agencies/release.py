"""Releases scheduled agency responses to the responses stream when their time has come."""

from services.agencies.store import Schedule
from shared.clock import Clock
from shared.logging import get_logger
from shared.worker import Periodic

log = get_logger(__name__)


class ResponseRelease:
    def __init__(self, schedule: Schedule, clock: Clock, interval_ms: int, batch: int = 500) -> None:
        self.schedule = schedule
        self.clock = clock
        self.interval_s = interval_ms / 1000
        self.batch = batch

    async def release_once(self) -> bool:
        released = await self.schedule.release_due(self.clock.now(), self.batch)
        if released:
            log.debug("responses released", count=released)
        return released >= self.batch

    def worker(self) -> Periodic:
        return Periodic("response-release", self.release_once, self.interval_s)
