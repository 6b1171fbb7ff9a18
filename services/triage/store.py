"""Triage's Redis side: which viral bundle a report belongs to."""

from redis.asyncio import Redis

from shared.topology import Topology

# The earliest report holding any of these hashes is the bundle's first; this report's hashes
# join that bundle (the rule of domain.first_report, done atomically). A batch of reports in one
# call, in their order, so two reports of one batch see each other: the batch's hash keys read by
# one MGET, a key written (SET NX, with the bundle window as its expiry) only when nobody held it.
# Run again for the same reports, it gives the same answers.
# KEYS: the batch's hash keys, each once. ARGV: window (s), report count, then per report: its
# id, its number of keys, their KEYS indexes.
_JOIN_BUNDLES = """
local holders = redis.call('MGET', unpack(KEYS))
local window, n, i = ARGV[1], tonumber(ARGV[2]), 3
local answers = {}
for r = 1, n do
  local report, count = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local first = nil
  for k = 1, count do
    local holder = holders[tonumber(ARGV[i + 1 + k])]
    if holder and (first == nil or tonumber(holder) < first) then first = tonumber(holder) end
  end
  if first == nil then first = report end
  for k = 1, count do
    local index = tonumber(ARGV[i + 1 + k])
    if not holders[index] then
      redis.call('SET', KEYS[index], first, 'NX', 'EX', window)
      holders[index] = tostring(first)
    end
  end
  answers[r] = first
  i = i + 2 + count
end
return answers
"""


class Bundles:
    def __init__(self, redis: Redis, topology: Topology, window_s: int) -> None:
        self.redis = redis
        self.topology = topology
        self.window_s = window_s
        self._join = redis.register_script(_JOIN_BUNDLES)

    async def first_reports(self, wanted: list[tuple[int, tuple[str, ...]]]) -> list[int]:
        """For each (report id, hash keys), the report that opened its bundle: one call for the
        whole batch (a call per thousand keys at most), run in order, so two reports of one batch
        see each other."""
        answers: list[int] = []
        start = 0
        while start < len(wanted):
            index: dict[str, int] = {}
            args: list[int] = [self.window_s, 0]
            end = start
            while end < len(wanted) and (end == start or len(index) + len(wanted[end][1]) <= 1000):
                report_id, hash_keys = wanted[end]
                args += [report_id, len(hash_keys)]
                args += [index.setdefault(self.topology.bundle_key(k), len(index) + 1)
                         for k in hash_keys]
                end += 1
            args[1] = end - start
            answers += [int(first) for first in await self._join(keys=list(index), args=args)]
            start = end
        return answers
