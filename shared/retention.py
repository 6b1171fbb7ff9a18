"""Stream retention: entries every group has finished with are trimmed once they are old enough.

An entry may go when, for every consumer group of its stream, it is at or before the group's last
delivered entry and older than the group's oldest pending one: nobody will read it again. Of
those, entries younger than the retention period are kept anyway, to be looked at.
"""

from collections.abc import Sequence

from redis.asyncio import Redis

from shared.clock import Clock
from shared.logging import get_logger
from shared.worker import Periodic

log = get_logger(__name__)


def _id_tuple(entry_id: bytes | str) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


async def trim_point(redis: Redis, stream: str) -> tuple[int, int] | None:
    """The first entry some group may still need; None when the stream has no group."""
    groups = await redis.xinfo_groups(stream)
    if not groups:
        return None
    needed = []
    for group in groups:
        if group["pending"]:
            summary = await redis.xpending(stream, group["name"])
            needed.append(_id_tuple(summary["min"]))
        else:
            last = _id_tuple(group["last-delivered-id"])
            needed.append((last[0], last[1] + 1))  # everything up to the last delivered is done
    return min(needed)


async def trim(redis: Redis, stream: str, retention_s: float, now: float) -> int:
    """Trim what every group has finished with and is older than the retention period."""
    point = await trim_point(redis, stream)
    if point is None:
        return 0
    keep_from = (int((now - retention_s) * 1000), 0)
    ms, seq = min(point, keep_from)
    if ms <= 0:
        return 0
    return int(await redis.xtrim(stream, minid=f"{ms}-{seq}", approximate=False))


class Janitor:
    """Trims a service's streams now and then (each service trims the streams it reads)."""

    def __init__(self, redis: Redis, streams: Sequence[str], retention_s: float,
                 interval_s: float, clock: Clock) -> None:
        self.redis = redis
        self.clock = clock
        self.streams = list(streams)
        self.retention_s = retention_s
        self.interval_s = interval_s

    async def trim_once(self) -> bool:
        for stream in self.streams:
            try:
                removed = await trim(self.redis, stream, self.retention_s, self.clock.now())
                if removed:
                    log.debug("stream trimmed", stream=stream, removed=removed)
            except Exception as exc:  # a missing stream or Redis away: next round
                log.warning("could not trim", stream=stream, error=f"{type(exc).__name__}: {exc}")
        return False

    def worker(self) -> Periodic:
        return Periodic("janitor", self.trim_once, self.interval_s)
