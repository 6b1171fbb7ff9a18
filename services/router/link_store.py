"""Linking's Redis side: the identifiers' keyed hashes, the links found, the groups and who holds
a case of each report. Each report is added by one script (atomic, and idempotent: adding a
report again finds the links it found the first time and changes nothing). It must find the
groups `shared.linking.Linker` finds, in any arrival order; a test checks it does.

The router adds a report before deciding where it goes (its prepare step) and records the agency
holding its case in its commit (`held`): a later report of the same group learns the holders."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

from redis.asyncio import Redis

from shared.linking import BASES, Basis, Groups, Link
from shared.redis_scripts import queue_script
from shared.schemas.events import LinkClues
from shared.topology import Topology

# KEYS: parents, edges, stats, held, then one holders key per clue, then one sightings key per
# sighting. ARGV: report id, IP window (s), number of clues, the members-set prefix, the fan-out
# (earlier holders of one identifier linked to), the group members read for their holders, then
# per clue its basis and (for a prior report) the cited id or "", then per sighting its epoch.
# Returns JSON: the links found [a, b, basis], the group's name (its smallest id) and size, the
# agency holding each directly linked report, and each agency holding a case of the group with
# its earliest report there (this report left out).
_ADD = """
local parents, edges, stats, held = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local me = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local members = ARGV[4]
local fanout = tonumber(ARGV[5])
local holders_shown = tonumber(ARGV[6])
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

local function size(root)
  return math.max(redis.call('SCARD', members .. root), 1)
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
  if low ~= high then
    -- the groups counted: a pair of singletons makes one, two groups become one
    local sl, sh = size(low), size(high)
    local groups = (sl > 1 and -1 or 0) + (sh > 1 and -1 or 0) + 1
    local linked = sl + sh - (sl > 1 and sl or 0) - (sh > 1 and sh or 0)
    redis.call('HINCRBY', stats, 'groups', groups)
    redis.call('HINCRBY', stats, 'linked_reports', linked)
    redis.call('SADD', members .. low, low, high)
    redis.call('SUNIONSTORE', members .. low, members .. low, members .. high)
    redis.call('DEL', members .. high)
    redis.call('HSET', parents, high, low)
  end
end

redis.call('HSETNX', parents, me, me)
-- The holders of one identifier are all in one group already (each was united with those
-- before it): linking to the earliest few records the links a case shows and unites the
-- groups, and a much-shared identifier costs no more than a rare one.
for i = 1, n do
  local basis, cited = ARGV[5 + 2 * i], ARGV[6 + 2 * i]
  local holders = KEYS[4 + i]
  if cited ~= '' then link(tonumber(cited), basis) end
  for _, other in ipairs(redis.call('ZRANGE', holders, 0, fanout - 1)) do
    link(tonumber(other), basis)
  end
  redis.call('ZADD', holders, me, me)
end
for j = 1, #KEYS - 4 - n do
  local seen = KEYS[4 + n + j]
  local at = tonumber(ARGV[6 + 2 * n + j])
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', seen, at - window, at + window,
                                     'LIMIT', 0, fanout)) do
    link(tonumber(string.match(member, '^(%d+):')), 'ip')
  end
  redis.call('ZADD', seen, at, me .. ':' .. ARGV[6 + 2 * n + j])
end
local root = find(me)
local linked_held, others = {}, {}
for _, l in ipairs(found) do
  local other = l[1] == me and l[2] or l[1]
  if linked_held[tostring(other)] == nil then
    linked_held[tostring(other)] = redis.call('HGET', held, other) or ''
  end
end
-- who holds the group's cases: its earliest reports (a group of thousands is read in part)
local holders, unheld = {}, {}
local ids = redis.call('SMEMBERS', members .. root)
if #ids > holders_shown then
  table.sort(ids, function(x, y) return tonumber(x) < tonumber(y) end)
end
for k = 1, math.min(#ids, holders_shown) do
  local id = tonumber(ids[k])
  if id ~= me then
    local agency = redis.call('HGET', held, id)
    if agency then
      if holders[agency] == nil or id < holders[agency] then holders[agency] = id end
    elseif #unheld < 50 then
      table.insert(unheld, id)
    end
  end
end
return cjson.encode({found, root, size(root), linked_held, holders, unheld})
"""


# An identifier shared by many reports links a new one to its FANOUT earliest holders (they are
# all in one group already); the holders of a group are read from its HOLDERS_READ earliest
# reports. Both bound one report's cost, whatever a recurring identifier's spread.
FANOUT = 10
HOLDERS_READ = 500


@dataclass(frozen=True)
class Linked:
    """What adding a report found: its links (each once, sorted), its group's name and size, who
    holds each directly linked report, and each agency holding a case of the group with its
    earliest report there (this report left out)."""

    links: list[Link]
    group: int
    size: int = 1
    linked_held: dict[int, str | None] | None = None
    holders: dict[str, int] | None = None
    unheld: tuple[int, ...] = ()  # reports of the group nobody holds yet (some being routed now)

    def holder_of(self, report_id: int) -> str | None:
        return (self.linked_held or {}).get(report_id)

    def with_decided(self, decided: Mapping[int, str]) -> "Linked":
        """The same, with the holders of reports decided but not yet recorded (earlier in the
        router's batch): what the store will say once their commit is written."""
        holders = dict(self.holders or {})
        known = dict(self.linked_held or {})
        for report_id in self.unheld:
            agency = decided.get(report_id)
            if agency is None:
                continue
            if agency not in holders or report_id < holders[agency]:
                holders[agency] = report_id
            if report_id in known and known[report_id] is None:
                known[report_id] = agency
        return replace(self, holders=holders, linked_held=known)


class LinkStore:
    def __init__(self, redis: Redis, topology: Topology, ip_window_s: float) -> None:
        self.redis = redis
        self.topology = topology
        self.ip_window_s = ip_window_s
        self._add = redis.register_script(_ADD)

    def _call(self, report_id: int, clues: LinkClues) -> tuple[list[str], list[object]]:
        t = self.topology
        keys = [t.link_parents, t.link_edges, t.link_stats, t.link_held,
                *(t.link_holders(c.hash) for c in clues.clues),
                *(t.link_sightings(s.hash) for s in clues.sightings)]
        args: list[object] = [report_id, self.ip_window_s, len(clues.clues), t.link_members_prefix,
                              FANOUT, HOLDERS_READ]
        for clue in clues.clues:
            args += [clue.basis, "" if clue.cited is None else clue.cited]
        args += [repr(s.at) for s in clues.sightings]
        return keys, args

    async def add(self, report_id: int, clues: LinkClues) -> Linked:
        keys, args = self._call(report_id, clues)
        return _linked(await self._add(keys=keys, args=args))

    async def add_all(self, reports: list[tuple[int, LinkClues]]) -> list[Linked]:
        """Each report added in turn (a later one sees the earlier ones), in one round trip."""
        if not reports:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for report_id, clues in reports:
                keys, args = self._call(report_id, clues)
                queue_script(pipe, self._add, keys, args)
            return [_linked(raw) for raw in await pipe.execute()]

    async def groups(self) -> set[frozenset[int]]:
        """Every group of two or more reports (for tests: reads the whole forest)."""
        forest = Groups()
        for child, parent in (await self.redis.hgetall(self.topology.link_parents)).items():
            forest.union(int(child), int(parent))
        return forest.groups()

    async def stats(self) -> dict[str, int]:
        """Groups of two or more reports, and the reports in them."""
        raw = await self.redis.hgetall(self.topology.link_stats)
        return {name: int(raw.get(name.encode(), 0)) for name in ("groups", "linked_reports")}


def _linked(raw: bytes | str) -> Linked:
    found, group, size, linked_held, holders, unheld = json.loads(raw)
    # cjson writes an empty table as {}: no links, no holders
    links = {Link(int(a), int(b), _basis(basis)) for a, b, basis in found}
    return Linked(sorted(links), int(group), int(size),
                  {int(r): a or None for r, a in (linked_held or {}).items()},
                  {a: int(r) for a, r in (holders or {}).items()},
                  tuple(int(r) for r in unheld or ()))


def _basis(raw: str) -> Basis:
    return next(b for b in BASES if b == raw)
