"""Intake's Redis side: report numbers, and publishing with an idempotency record in one step."""

from redis.asyncio import Redis

from shared import topology
from shared.consumer import encode
from shared.schemas.events import ReportSubmitted

# Claim the key and publish atomically: a crash between the two can never leave a key that
# answers with a report id that was never published.
_CLAIM_AND_PUBLISH = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('XADD', KEYS[2], '*', 'data', ARGV[3])
  return ARGV[1]
end
return redis.call('GET', KEYS[1])
"""


class Submissions:
    def __init__(self, redis: Redis, idempotency_ttl_s: int) -> None:
        self.redis = redis
        self.ttl = idempotency_ttl_s
        self._claim_and_publish = redis.register_script(_CLAIM_AND_PUBLISH)

    async def next_report_id(self) -> int:
        return int(await self.redis.incr(topology.REPORT_ID_COUNTER))

    async def remembered(self, esp: str, key: str) -> tuple[int, str] | None:
        value = await self.redis.get(topology.idempotency_key(esp, key))
        return _split(value) if value else None

    async def publish(self, event: ReportSubmitted, idempotency: tuple[str, str] | None,
                      fingerprint: str) -> tuple[int, str]:
        """Publish the event; with an idempotency key, return what the key first published."""
        stream = topology.SUBMITTED[event.lane]
        if idempotency is None:
            await self.redis.xadd(stream, encode(event))
            return event.report_id, fingerprint
        esp, key = idempotency
        winner = await self._claim_and_publish(
            keys=[topology.idempotency_key(esp, key), stream],
            args=[f"{event.report_id}:{fingerprint}", self.ttl, encode(event)[b"data"]],
        )
        return _split(winner)


def _split(value: bytes | str) -> tuple[int, str]:
    text = value.decode() if isinstance(value, bytes) else value
    report_id, _, fingerprint = text.partition(":")
    return int(report_id), fingerprint
