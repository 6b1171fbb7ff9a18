"""The ledger's writes: a Collector of (report id, step) items, recorded inside the consume loop's
commit script. What each step moves comes from `services.tracker.recording`.
"""

from typing import Any

from pydantic_core import to_json

from services.tracker.domain import Step
from services.tracker.recording import Recording
from shared.packing import Form, Forms, dictionary

# Record the stages of a batch: a Collector chunk run inside the consume loop's commit script, over
# the items of the entries whose writes are applied. Each stage is recorded once (HSETNX): only the
# first time does it move anything, so a late duplicate counts nothing. What a stage moves comes as
# groups of Redis commands, each group under a condition: none, 'absent' (a field of a hash is not
# there, e.g. the case was not acknowledged yet) or 'removed' (ZREM removed the member: the case
# was dark until now). Counter increments (HINCRBY) and time-series expiries are summed over the
# batch and written once per counter at the end: no condition reads a counter, and a batch of a
# hundred reports moves the same few counters a hundred times. Set members (SADD) likewise.
# The batch's ZADD, ZREM and HDEL of one key are merged into one command while they come in a row
# for that key (a hundred handoffs are one ZADD of a hundred members to the open cases): a command
# of another kind on the key, or a condition that reads it, first runs what was merged, so every
# key sees its writes in their order and the end state is that of running them one by one.
# A timeline the batch reads two fields of or more (a routed report's stage, its handoff and the
# acknowledgement its handoff's condition asks about) is read by one HMGET and its new stages
# written by one HSET, instead of an HSETNX per stage and an HEXISTS per condition.
# Item: the JSON [timeline key, stage, [[condition, command, command, ...], ...]], a newline, then
# the stage's detail as stored (`STAGES`: deflated JSON, binary).
_RECORD = """
local sums, order, expiries, members = {}, {}, {}, {}
local merged, merged_keys = {}, {}
local MERGES = {ZADD = true, ZREM = true, HDEL = true}
-- Timelines of which the batch reads two fields or more (its stages and the conditions on it):
-- read once (HMGET) into `known`, their new stages written once (HSET) when flushed.
local known, writes, written = {}, {}, {}
local function flush(key)
  local m = merged[key]
  if m ~= nil then
    redis.call(unpack(m))
    merged[key] = nil
  end
  local w = writes[key]
  if w ~= nil then
    redis.call('HSET', key, unpack(w))
    writes[key] = nil
  end
end
local function run(c)
  if c[1] == 'HINCRBY' then
    local fields = sums[c[2]]
    if fields == nil then
      fields = {}
      sums[c[2]] = fields
    end
    local field = tostring(c[3])
    if fields[field] == nil then
      fields[field] = 0
      order[#order + 1] = {c[2], field}
    end
    fields[field] = fields[field] + c[4]
  elseif c[1] == 'EXPIRE' then
    expiries[c[2]] = c[3]
  elseif c[1] == 'SADD' then
    members[c[2] .. ' ' .. c[3]] = {c[2], c[3]}
  elseif MERGES[c[1]] then
    local m = merged[c[2]]
    if m ~= nil and m[1] ~= c[1] then
      flush(c[2])
      m = nil
    end
    if m == nil then
      m = {c[1], c[2]}
      merged[c[2]] = m
      merged_keys[#merged_keys + 1] = c[2]
    end
    for k = 3, #c do m[#m + 1] = c[k] end
    if #m > 1000 then flush(c[2]) end  -- well inside what unpack takes
  else
    flush(c[2])
    redis.call(unpack(c))
  end
end
-- the stage recorded the first time only: 1 when it is new
local function record(key, field, value)
  local k = known[key]
  if k == nil then
    flush(key)
    return redis.call('HSETNX', key, field, value) == 1
  end
  if k[field] then return false end
  k[field] = true
  local w = writes[key]
  if w == nil then
    w = {}
    writes[key] = w
    written[#written + 1] = key
  end
  w[#w + 1] = field
  w[#w + 1] = value
  return true
end
local function present(key, field)
  local k = known[key]
  if k ~= nil and k[field] ~= nil then return k[field] end
  flush(key)
  return redis.call('HEXISTS', key, field) == 1
end
local decoded, wanted, wanted_keys = {}, {}, {}
local function want(key, field)
  local w = wanted[key]
  if w == nil then
    w = {seen = {}, fields = {}}
    wanted[key] = w
    wanted_keys[#wanted_keys + 1] = key
  end
  if not w.seen[field] then
    w.seen[field] = true
    w.fields[#w.fields + 1] = field
  end
end
for n, raw in ipairs(items) do
  local cut = string.find(raw, '\\n', 1, true)
  local head = cjson.decode(string.sub(raw, 1, cut - 1))
  local it = {head[1], head[2], string.sub(raw, cut + 1), head[3]}
  decoded[n] = it
  want(it[1], it[2])
  for _, group in ipairs(it[4]) do
    if group[1][1] == 'absent' then want(group[1][2], group[1][3]) end
  end
end
for _, key in ipairs(wanted_keys) do
  local fields = wanted[key].fields
  if #fields > 1 and #fields <= 1000 then
    local values = redis.call('HMGET', key, unpack(fields))
    local k = {}
    for j, field in ipairs(fields) do k[field] = values[j] ~= false end
    known[key] = k
  end
end
for _, it in ipairs(decoded) do
  if record(it[1], it[2], it[3]) then
    for _, group in ipairs(it[4]) do
      local cond, ok = group[1], true
      if cond[1] == 'absent' then ok = not present(cond[2], cond[3])
      elseif cond[1] == 'removed' then
        flush(cond[2])
        ok = redis.call('ZREM', cond[2], cond[3]) == 1
      end
      if ok then
        for j = 2, #group do run(group[j]) end
      end
    end
  end
end
for _, key in ipairs(merged_keys) do flush(key) end
for _, key in ipairs(written) do flush(key) end
for _, counter in ipairs(order) do
  local amount = sums[counter[1]][counter[2]]
  if amount ~= 0 then redis.call('HINCRBY', counter[1], counter[2], amount) end
end
for key, ttl in pairs(expiries) do redis.call('EXPIRE', key, ttl) end
for _, m in pairs(members) do redis.call('SADD', m[1], m[2]) end
"""


# A stage's detail as its timeline keeps it (`shared.packing`): deflated against a dictionary of
# the stages' own words (data/stage-dictionary-1.txt: the detail fields, the triage rules and
# their reasons, labels, lanes, dispositions, incident types, the directory's agencies, regions
# and jurisdictions, as they were when it was made; nothing of any report), about a third of its
# JSON for ~10 µs; a raw deflate with an 8 KB window, so the whole dictionary is in reach.
STAGES = Forms("stage", (Form(1, dictionary("stage-dictionary-1.txt"), wbits=-13, mem_level=4),),
               packs_with=1)


class Ledger:
    """The subscription's collector: each item is encoded as the chunk above reads it."""

    lua = _RECORD

    def __init__(self, recording: Recording) -> None:
        self.recording = recording

    def keys(self) -> list[str]:
        return []  # every key comes with the commands of an item

    def encode(self, item: tuple[int, Step]) -> bytes:
        report_id, step = item
        key, stage, detail, groups = self.recording.item(report_id, step)
        # pydantic-core's JSON encoder: several times quicker than json.dumps on these lists
        return (to_json([key, stage, groups]) + b"\n"
                + STAGES.pack(to_json(stored_detail(detail))))


def stored_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """A stage's detail as its timeline keeps it: without the fields that say nothing (none, no
    items); every reader takes a field that is not there as none, or as no items."""
    return {k: v for k, v in detail.items() if v is not None and v != [] and v != {}}

