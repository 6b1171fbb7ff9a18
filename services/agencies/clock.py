"""Releases scheduled agency responses to the responses stream when their time has come."""

from services.agencies.store import Schedule
from shared.logging import get_logger
from shared.worker import Periodic

log = get_logger(__name__)


class ResponseClock:
    def __init__(self, schedule: Schedule, interval_ms: int, batch: int = 500) -> None:
        self.schedule = schedule
        self.interval_s = interval_ms / 1000
        self.batch = batch

    async def release_once(self) -> bool:
        released = await self.schedule.release_due(self.batch)
        if released:
            log.debug("responses released", count=released)
        return released >= self.batch

    def worker(self) -> Periodic:
        return Periodic("response-clock", self.release_once, self.interval_s)
