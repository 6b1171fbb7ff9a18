"""Linking's Redis side: the identifiers' keyed hashes, the links found, the groups and who holds
a case of each report. A batch of reports is added by one script call, each report in turn
(atomic, and idempotent: adding a report again finds the links it found the first time and
changes nothing). It must find the
groups `shared.linking.Linker` finds, in any arrival order; a test checks it does.

The router adds a report before deciding where it goes (its prepare step), with the agency its
own jurisdiction names, if any: the script reads the agencies holding the group's cases, takes
the report's target by the router's rule (`services.router.domain.route_with_group`: its own
agency, else the agency holding the group's earliest report) and records it, so that the next
report of the group, in the same batch or not, sees it.

What a batch costs: the four hashes every report reads and writes (answers, parents, holders,
each identifier's first holder) read by one HMGET each and written back by one HSET each, one
SCARD per report in a group (its size; a group's root is its own parent, so a report
without a parent is alone); for a linked report a few more (a union-find of compressed
paths, the group's holders as one small hash, the link's bases)."""

import json
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from shared.linking import BASES, Basis, Groups, Link
from shared.schemas.events import LinkClues
from shared.topology import Topology

# A batch of reports, each added in turn (a later one sees the earlier ones).
# KEYS: parents, edges, stats, held, first holders, placed (each report's answer), then one
# sightings key per sighting, the reports' in their order.
# ARGV: IP window (s), members-set prefix, group-holders prefix, report count, then per report:
# its id, its own agency ('' when its jurisdiction names none), its number of clues and of
# sightings, per clue its basis, keyed hash and (for a prior report) the cited id or '', then per
# sighting its epoch.
# Returns per report JSON: [links found [a, b, basis], group name, group size, the agency holding
# each directly linked report, each agency holding a case of the group with its earliest report
# (this report left out), the agency this report goes to ('' for none)].
_ADD = """
local parents, edges, stats, held, first, placed = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local window = tonumber(ARGV[1])
local members, holding = ARGV[2], ARGV[3]
-- The report being added. Report ids stay strings here: Lua writes a number of 15 digits or
-- more in exponent form.
local me, found = nil, nil
local function lt(a, b) return tonumber(a) < tonumber(b) end

-- The four hashes every report reads and writes (parents, held, first holders, answers) are read
-- through a cache, the batch's own fields fetched first by one HMGET each, and written back at
-- the end by one HSET each, with the group counts' changes: a batch of reports costs a few
-- commands, not a few per report. Everything written before the end (links' bases, members,
-- holders, sightings) is written the same way again when a batch is added again, so a script
-- that fails half-way leaves nothing that counts twice on the redelivery.
local cache, dirty, order = {}, {}, {}
local groups_delta, linked_delta = 0, 0
for _, key in ipairs({parents, held, first, placed}) do cache[key], dirty[key] = {}, {} end
local function fetch(key, fields)
  for i = 1, #fields, 1000 do
    local chunk = {unpack(fields, i, math.min(i + 999, #fields))}
    local values = redis.call('HMGET', key, unpack(chunk))
    for j, field in ipairs(chunk) do cache[key][field] = values[j] end
  end
end
local function hget(key, field)
  local value = cache[key][field]
  if value == nil then
    value = redis.call('HGET', key, field)
    cache[key][field] = value
  end
  return value or nil
end
local function hset(key, field, value)
  if dirty[key][field] == nil then order[#order + 1] = {key, field} end
  cache[key][field], dirty[key][field] = value, value
end
local function write_back()
  local by_key = {}
  for _, kf in ipairs(order) do
    local args = by_key[kf[1]]
    if args == nil then
      args = {}
      by_key[kf[1]] = args
    end
    args[#args + 1] = kf[2]
    args[#args + 1] = dirty[kf[1]][kf[2]]
    if #args >= 1000 then
      redis.call('HSET', kf[1], unpack(args))
      by_key[kf[1]] = {}
    end
  end
  for key, args in pairs(by_key) do
    if #args > 0 then redis.call('HSET', key, unpack(args)) end
  end
  if groups_delta ~= 0 then redis.call('HINCRBY', stats, 'groups', groups_delta) end
  if linked_delta ~= 0 then redis.call('HINCRBY', stats, 'linked_reports', linked_delta) end
end

local function up(id)
  return hget(parents, id) or id
end

local function find(id)
  local root = id
  while true do
    local p = up(root)
    if p == root then break end
    root = p
  end
  while id ~= root do  -- path compression
    local p = up(id)
    if p ~= root then hset(parents, id, root) end
    id = p
  end
  return root
end

-- A group's root is its own parent: a report with no parent is alone (no SCARD for it).
local function size(root)
  if hget(parents, root) == nil then return 1 end
  return math.max(redis.call('SCARD', members .. root), 1)
end

-- the earliest report of each agency holding a case of a group
local function hold(into, agency, report)
  local known = redis.call('HGET', holding .. into, agency)
  if not known or lt(report, known) then redis.call('HSET', holding .. into, agency, report) end
end

local function union(a, b)
  local ra, rb = find(a), find(b)
  if ra == rb then return end
  local low, high = ra, rb
  if lt(rb, ra) then low, high = rb, ra end
  -- the groups counted: a pair of singletons makes one, two groups become one
  local sl, sh = size(low), size(high)
  groups_delta = groups_delta + (sl > 1 and -1 or 0) + (sh > 1 and -1 or 0) + 1
  linked_delta = linked_delta + sl + sh - (sl > 1 and sl or 0) - (sh > 1 and sh or 0)
  for _, root in ipairs({low, high}) do  -- a singleton's holder joins the group's
    if size(root) == 1 then
      local agency = hget(held, root)
      if agency then hold(low, agency, root) end
    end
  end
  local theirs = redis.call('HGETALL', holding .. high)
  for i = 1, #theirs, 2 do hold(low, theirs[i], theirs[i + 1]) end
  redis.call('DEL', holding .. high)
  redis.call('SADD', members .. low, low, high)
  redis.call('SUNIONSTORE', members .. low, members .. low, members .. high)
  redis.call('DEL', members .. high)
  hset(parents, high, low)
  if hget(parents, low) == nil then hset(parents, low, low) end
end

local function link(other, basis)
  if other == me then return end
  local a, b = me, other
  if lt(other, me) then a, b = other, me end
  local field = a .. '|' .. b
  local bases = redis.call('HGET', edges, field) or ''
  if not string.find(',' .. bases .. ',', ',' .. basis .. ',', 1, true) then
    redis.call('HSET', edges, field, bases == '' and basis or (bases .. ',' .. basis))
  end
  table.insert(found, {a, b, basis})
  union(a, b)
end

-- One report: its clues at ARGV[a..], its sightings' keys at KEYS[k..].
local function add(own, n, m, a, k)
  -- Added before: the first answer again, whatever joined the group since (a redelivery must
  -- not send notices the reports after it sent already).
  local before = hget(placed, me)
  if before then return before end
  found = {}
-- Each identifier names its first holder; every later holder is united with it, so all its
-- holders are in one group whatever the order, at one command for a new identifier.
for i = 0, n - 1 do
  local basis, hash, cited = ARGV[a + 3 * i], ARGV[a + 3 * i + 1], ARGV[a + 3 * i + 2]
  if cited ~= '' then
    link(cited, basis)
  else
    local holder = hget(first, hash)
    if holder then link(holder, basis) else hset(first, hash, me) end
  end
end
-- An address's sightings: linked to the nearest other sighting on each side within the window.
-- Sightings a window apart or less are then one group in any order, at two links at most.
for j = 0, m - 1 do
  local seen = KEYS[k + j]
  local epoch = ARGV[a + 3 * n + j]
  local at = tonumber(epoch)
  local sides = {redis.call('ZRANGEBYSCORE', seen, at, at + window, 'LIMIT', 0, 2),
                 redis.call('ZREVRANGEBYSCORE', seen, at, at - window, 'LIMIT', 0, 2)}
  for _, side in ipairs(sides) do
    for _, member in ipairs(side) do
      local other = string.match(member, '^(%d+):')
      if other ~= me then link(other, 'ip'); break end
    end
  end
  redis.call('ZADD', seen, at, me .. ':' .. epoch)
end

-- a report cited before it came is in a group already, linked or not now
local root = find(me)
local count = size(root)
local holders, earliest, target = {}, nil, own
if count > 1 then
  local all = redis.call('HGETALL', holding .. root)
  for i = 1, #all, 2 do
    local report = all[i + 1]
    if report ~= me then
      holders[all[i]] = report
      if not earliest or lt(report, holders[earliest]) or
         (report == holders[earliest] and all[i] < earliest) then earliest = all[i] end
    end
  end
end
if target == '' and earliest then target = earliest end
if target ~= '' then
  hset(held, me, target)
  if count > 1 then hold(root, target, me) end
end
local linked_held = {}
for _, l in ipairs(found) do
  local other = l[1] == me and l[2] or l[1]
  if linked_held[other] == nil then linked_held[other] = hget(held, other) or '' end
end
local answer = cjson.encode({found, root, count, linked_held, holders, target})
hset(placed, me, answer)
return answer
end

-- the batch's own fields first: each report's answer, parent and holder, each clue's first holder
local ids, hashes = {}, {}
local a = 5
for r = 1, tonumber(ARGV[4]) do
  ids[#ids + 1] = ARGV[a]
  local n, m = tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  for i = 0, n - 1 do
    if ARGV[a + 4 + 3 * i + 2] == '' then hashes[#hashes + 1] = ARGV[a + 4 + 3 * i + 1] end
  end
  a = a + 4 + 3 * n + m
end
fetch(placed, ids)
fetch(parents, ids)
-- a report's holder is written with its answer: without an answer it has none
for _, id in ipairs(ids) do
  if not cache[placed][id] then cache[held][id] = false end
end
if #hashes > 0 then fetch(first, hashes) end

local answers, k = {}, 7
a = 5
for r = 1, tonumber(ARGV[4]) do
  me = ARGV[a]
  local own, n, m = ARGV[a + 1], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  answers[r] = add(own, n, m, a + 4, k)
  a, k = a + 4 + 3 * n + m, k + m
end
write_back()
return answers
"""


@dataclass(frozen=True)
class Linked:
    """What adding a report found: its links (each once, sorted), its group's name and size, who
    holds each directly linked report, each agency holding a case of the group with its earliest
    report there (this report left out), and the agency the store recorded as this report's."""

    links: list[Link]
    group: int
    size: int = 1
    linked_held: dict[int, str | None] | None = None
    holders: dict[str, int] | None = None
    target: str | None = None

    def holder_of(self, report_id: int) -> str | None:
        return (self.linked_held or {}).get(report_id)


class LinkStore:
    def __init__(self, redis: Redis, topology: Topology, ip_window_s: float) -> None:
        self.redis = redis
        self.keys = topology
        self.ip_window_s = ip_window_s
        self._add = redis.register_script(_ADD)
        self._rooted = False

    async def mark_roots(self) -> None:
        """Groups made before a group's root was its own parent get that mark, once (the script
        takes a report without a parent to be alone)."""
        k = self.keys
        if self._rooted or await self.redis.hexists(k.link_stats, "roots_marked"):
            self._rooted = True
            return
        prefix = k.link_members_prefix
        async for key in self.redis.scan_iter(match=_glob_escape(prefix) + "*", count=1000):
            root = key.decode().removeprefix(prefix)
            await self.redis.hsetnx(k.link_parents, root, root)
        await self.redis.hset(k.link_stats, "roots_marked", 1)
        self._rooted = True

    async def add(self, report_id: int, clues: LinkClues, own: str | None = None) -> Linked:
        """Add a report (`own`: the agency its jurisdiction names, if any)."""
        return (await self.add_all([(report_id, clues, own)]))[0]

    async def add_all(self, reports: Sequence[tuple[int, LinkClues, str | None]]) -> list[Linked]:
        """Each report added in turn (a later one sees the earlier ones), in one script call."""
        if not reports:
            return []
        await self.mark_roots()
        k = self.keys
        keys = [k.link_parents, k.link_edges, k.link_stats, k.link_held, k.link_first,
                k.link_placed]
        args: list[object] = [self.ip_window_s, k.link_members_prefix, k.link_holding_prefix,
                              len(reports)]
        for report_id, clues, own in reports:
            args += [report_id, own or "", len(clues.clues), len(clues.sightings)]
            for clue in clues.clues:
                args += [clue.basis, clue.hash, "" if clue.cited is None else clue.cited]
            args += [repr(s.at) for s in clues.sightings]
            keys += [k.link_sightings(s.hash) for s in clues.sightings]
        return [_linked(raw) for raw in await self._add(keys=keys, args=args)]

    async def groups(self) -> set[frozenset[int]]:
        """Every group of two or more reports (for tests: reads the whole forest)."""
        forest = Groups()
        for child, parent in (await self.redis.hgetall(self.keys.link_parents)).items():
            forest.union(int(child), int(parent))
        return forest.groups()

    async def stats(self) -> dict[str, int]:
        """Groups of two or more reports, and the reports in them."""
        raw = await self.redis.hgetall(self.keys.link_stats)
        return {name: int(raw.get(name.encode(), 0)) for name in ("groups", "linked_reports")}


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def _linked(raw: bytes | str) -> Linked:
    found, group, size, linked_held, holders, target = json.loads(raw)
    # cjson writes an empty table as {}: no links, no holders
    links = {Link(int(a), int(b), _basis(basis)) for a, b, basis in found}
    return Linked(sorted(links), int(group), int(size),
                  {int(r): a or None for r, a in (linked_held or {}).items()},
                  {a: int(r) for a, r in (holders or {}).items()}, target or None)


def _basis(raw: str) -> Basis:
    return next(b for b in BASES if b == raw)
