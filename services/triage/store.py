"""Triage's Redis side: which viral bundle a report belongs to."""

from redis.asyncio import Redis

from shared.redis_scripts import queue_script
from shared.topology import Topology

# The earliest report holding any of these hashes is the bundle's first; this report's hashes
# join that bundle (the rule of domain.first_report, done atomically). Run again for the same
# report, it gives the same answer.
_JOIN_BUNDLE = """
local first = nil
for _, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder and (first == nil or tonumber(holder) < first) then first = tonumber(holder) end
end
if first == nil then first = tonumber(ARGV[1]) end
for _, key in ipairs(KEYS) do redis.call('SET', key, first, 'NX', 'EX', ARGV[2]) end
return first
"""


class Bundles:
    def __init__(self, redis: Redis, topology: Topology, window_s: int) -> None:
        self.redis = redis
        self.topology = topology
        self.window_s = window_s
        self._join = redis.register_script(_JOIN_BUNDLE)

    async def first_reports(self, wanted: list[tuple[int, tuple[str, ...]]]) -> list[int]:
        """For each (report id, hash keys), the report that opened its bundle: one round trip for
        the whole batch, run in order, so two reports of one batch see each other."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for report_id, hash_keys in wanted:
                queue_script(pipe, self._join, keys=[self.topology.bundle_key(k) for k in hash_keys],
                             args=[report_id, self.window_s])
            return [int(first) for first in await pipe.execute()]
