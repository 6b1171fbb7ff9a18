"""Linking's Redis side: the identifiers' keyed hashes, the links found and the groups, each
report added by one script (atomic, and idempotent: adding a report again finds the links it found
the first time and changes nothing). It must find the groups `services.router.linking.Linker`
finds, in any arrival order; a test checks it does."""

from dataclasses import dataclass

from redis.asyncio import Redis

from services.router.linking import BASES, Basis, Clue, Groups, Link, clues, keyed, sightings
from shared.schemas.report import Report
from shared.topology import Topology

# KEYS: parents, edges, then one holders key per clue, then one sightings key per sighting.
# ARGV: report id, IP window (s), number of clues, then per clue its basis and (for a prior
# report) the cited id or "", then per sighting its epoch.
# Returns the links found, flat: a, b, basis, ...; then the group's name (its smallest id) last.
_ADD = """
local parents, edges = KEYS[1], KEYS[2]
local me = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local found = {}

local function find(id)
  local root = id
  while true do
    local up = redis.call('HGET', parents, root)
    if not up or tonumber(up) == root then break end
    root = tonumber(up)
  end
  while id ~= root do  -- path compression
    local up = tonumber(redis.call('HGET', parents, id) or id)
    redis.call('HSET', parents, id, root)
    id = up
  end
  return root
end

local function link(other, basis)
  if other == me then return end
  local a, b = math.min(me, other), math.max(me, other)
  local field = a .. '|' .. b
  local bases = redis.call('HGET', edges, field) or ''
  if not string.find(',' .. bases .. ',', ',' .. basis .. ',', 1, true) then
    redis.call('HSET', edges, field, bases == '' and basis or (bases .. ',' .. basis))
  end
  table.insert(found, {a, b, basis})
  local ra, rb = find(a), find(b)
  local low, high = math.min(ra, rb), math.max(ra, rb)
  redis.call('HSETNX', parents, low, low)
  if low ~= high then redis.call('HSET', parents, high, low) end
end

redis.call('HSETNX', parents, me, me)
for i = 1, n do
  local basis, cited = ARGV[2 + 2 * i], ARGV[3 + 2 * i]
  local holders = KEYS[2 + i]
  if cited ~= '' then link(tonumber(cited), basis) end
  for _, other in ipairs(redis.call('SMEMBERS', holders)) do link(tonumber(other), basis) end
  redis.call('SADD', holders, me)
end
for j = 1, #KEYS - 2 - n do
  local seen = KEYS[2 + n + j]
  local at = tonumber(ARGV[3 + 2 * n + j])
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', seen, at - window, at + window)) do
    link(tonumber(string.match(member, '^(%d+):')), 'ip')
  end
  redis.call('ZADD', seen, at, me .. ':' .. ARGV[3 + 2 * n + j])
end
local flat = {}
for _, l in ipairs(found) do
  table.insert(flat, l[1]); table.insert(flat, l[2]); table.insert(flat, l[3])
end
table.insert(flat, find(me))
return flat
"""


@dataclass(frozen=True)
class Linked:
    """What adding a report found: its links (each once, sorted) and its group's name."""

    links: list[Link]
    group: int


class LinkStore:
    def __init__(self, redis: Redis, topology: Topology, key: bytes, ip_window_s: float) -> None:
        self.redis = redis
        self.topology = topology
        self.key = key
        self.ip_window_s = ip_window_s
        self._add = redis.register_script(_ADD)

    async def add(self, report_id: int, report: Report) -> Linked:
        t = self.topology
        found = clues(report)
        seen = sightings(report)
        keys = [t.link_parents, t.link_edges,
                *(t.link_holders(keyed(self.key, c)) for c in found),
                *(t.link_sightings(keyed(self.key, Clue("ip", s.ip))) for s in seen)]
        args: list[object] = [report_id, self.ip_window_s, len(found)]
        for clue in found:
            args += [clue.basis, clue.value if clue.basis == "prior-report" else ""]
        args += [repr(s.at) for s in seen]
        flat = await self._add(keys=keys, args=args)
        *triples, group = flat
        links = {Link(int(triples[i]), int(triples[i + 1]), _basis(triples[i + 2]))
                 for i in range(0, len(triples), 3)}
        return Linked(sorted(links), int(group))

    async def groups(self) -> set[frozenset[int]]:
        """Every group of two or more reports (for tests and the gap: reads the whole forest)."""
        forest = Groups()
        for child, parent in (await self.redis.hgetall(self.topology.link_parents)).items():
            forest.union(int(child), int(parent))
        return forest.groups()

def _basis(raw: bytes | str) -> Basis:
    text = raw.decode() if isinstance(raw, bytes) else raw
    return next(b for b in BASES if b == text)
