"""The ledger's writes: a Collector of (report id, step) items, recorded inside the consume loop's
commit script. What each step moves comes from `services.tracker.recording`.
"""

from pydantic_core import to_json

from services.tracker.domain import Step
from services.tracker.recording import Recording

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
# Item: [timeline key, stage, detail JSON, [[condition, command, command, ...], ...]]
_RECORD = """
local sums, order, expiries, members = {}, {}, {}, {}
local merged, merged_keys = {}, {}
local MERGES = {ZADD = true, ZREM = true, HDEL = true}
local function flush(key)
  local m = merged[key]
  if m ~= nil then
    redis.call(unpack(m))
    merged[key] = nil
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
for _, raw in ipairs(items) do
  local it = cjson.decode(raw)
  flush(it[1])
  if redis.call('HSETNX', it[1], it[2], it[3]) == 1 then
    for _, group in ipairs(it[4]) do
      local cond, ok = group[1], true
      if cond[1] ~= nil then flush(cond[2]) end
      if cond[1] == 'absent' then ok = redis.call('HEXISTS', cond[2], cond[3]) == 0
      elseif cond[1] == 'removed' then ok = redis.call('ZREM', cond[2], cond[3]) == 1 end
      if ok then
        for j = 2, #group do run(group[j]) end
      end
    end
  end
end
for _, key in ipairs(merged_keys) do flush(key) end
for _, counter in ipairs(order) do
  local amount = sums[counter[1]][counter[2]]
  if amount ~= 0 then redis.call('HINCRBY', counter[1], counter[2], amount) end
end
for key, ttl in pairs(expiries) do redis.call('EXPIRE', key, ttl) end
for _, m in pairs(members) do redis.call('SADD', m[1], m[2]) end
"""


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
        return to_json([key, stage, to_json(detail).decode(), groups])

