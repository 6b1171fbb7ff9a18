"""Releases scheduled agency responses to the responses stream when their time has come."""

import asyncio
import time

from redis.asyncio import Redis

from shared import topology
from shared.logging import get_logger

log = get_logger(__name__)

# Move due members from the schedule to the stream in one atomic step: replicas may run this
# side by side and each response is still published once.
_RELEASE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('XADD', KEYS[2], '*', 'data', member)
end
return #due
"""


class ResponseClock:
    def __init__(self, redis: Redis, interval_ms: int, batch: int = 500) -> None:
        self.redis = redis
        self.interval = interval_ms / 1000
        self.batch = batch
        self._release = redis.register_script(_RELEASE_DUE)
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    async def release_due(self) -> int:
        released = await self._release(
            keys=[topology.AGENCY_SCHEDULE, topology.AGENCY_RESPONSES],
            args=[time.time(), self.batch],
        )
        return int(released)

    async def run(self) -> None:
        while not self._stopping:
            try:
                released = await self.release_due()
                if released:
                    log.debug("responses released", count=released)
                if released >= self.batch:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away for a moment: try again on the next tick
                log.warning("could not release responses", error=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(self.interval)
