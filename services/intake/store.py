"""Intake's Redis side: report numbers, and publishing a report (its body stored once, its event
on the lane, its idempotency record) in one step."""

import time
from dataclasses import dataclass

from redis.asyncio import Redis

from shared import bodies
from shared.bodies import ReportBodies
from shared.connect import Replicated
from shared.groups import group_state
from shared.publishing import LUA, Publisher
from shared.schemas.events import Lane, ReportSubmitted
from shared.schemas.report import FiledReport
from shared.topology import TRIAGE, Topology
from shared.tracing import current_traceparent

# A batch published in one script, whole or not at all (one slot on a Redis Cluster, where a
# transaction would cost a thread per command in redis-py). A report with a key claims the key
# and publishes atomically: a crash between the two can never leave a key that answers with a
# report id that was never published; a key taken before answers with what it holds.
# KEYS, three per report: its idempotency key (its body's key again when it has none), its lane,
# its body. ARGV: the key's ttl, the body's ttl, the report count, then per report: 1 when it has
# a key, its id and fingerprint, its body, its entry's field count and fields (name, value).
# Returns per report: the key's value (the first report's, if another took it), or the entry id.
_PUBLISH_ALL = LUA + """
local key_ttl, body_ttl, count = ARGV[1], ARGV[2], tonumber(ARGV[3])
local replies, a = {}, 4
for r = 1, count do
  local k = (r - 1) * 3
  local keyed, value, body = ARGV[a] == '1', ARGV[a + 1], ARGV[a + 2]
  local first = a + 4
  local last = a + 3 + tonumber(ARGV[a + 3])
  a = last + 1
  if not keyed then
    redis.call('SET', KEYS[k + 3], body, 'EX', body_ttl)
    replies[r] = publish(KEYS[k + 2], ARGV, first, last)
  elseif redis.call('SET', KEYS[k + 1], value, 'NX', 'EX', key_ttl) then
    redis.call('SET', KEYS[k + 3], body, 'EX', body_ttl)
    publish(KEYS[k + 2], ARGV, first, last)
    replies[r] = value
  else
    replies[r] = redis.call('GET', KEYS[k + 1])
  end
end
return replies
"""


@dataclass(frozen=True)
class Draft:
    """A validated report on its way in."""

    report: FiledReport
    lane: Lane
    fingerprint: str
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Accepted:
    report_id: int
    lane: Lane
    event_id: str | None  # None: an earlier submission with the same key
    conflict: bool = False  # the key was used for a different report


class Submissions:
    def __init__(self, redis: Redis, topology: Topology, publisher: Publisher,
                 idempotency_ttl_s: int, bodies: ReportBodies,
                 replicated: Replicated | None = None) -> None:
        self.redis = redis
        self.replicated = replicated or Replicated(redis, topology.replication_mark)
        self.topology = topology
        self.publisher = publisher
        self.ttl = idempotency_ttl_s
        self.bodies = bodies
        self._publish_all = redis.register_script(_PUBLISH_ALL)

    async def accept(self, esp: str, drafts: list[Draft]) -> list[Accepted]:
        """Number and publish reports in three round trips, however many: look up the keys, take
        the ids, publish. A key seen before answers with the report it first published. When
        replicas must hold what is answered for, a fourth waits for them (NotReplicated when
        they do not in time: the reports stay, a retry answers with them)."""
        keyed = [i for i, d in enumerate(drafts) if d.idempotency_key]
        earlier: dict[int, tuple[int, str]] = {}
        if keyed:
            values = await self.redis.mget(
                [self.topology.idempotency_key(esp, drafts[i].idempotency_key or "") for i in keyed])
            earlier = {i: _split(v) for i, v in zip(keyed, values, strict=True) if v}
        fresh = [i for i in range(len(drafts)) if i not in earlier]
        results: dict[int, Accepted] = {
            i: _replay(drafts[i], *earlier[i]) for i in earlier}
        if fresh:
            last = int(await self.redis.incrby(self.topology.report_id_counter, len(fresh)))
            events = {i: ReportSubmitted(report_id=last - len(fresh) + 1 + n, producer="intake",
                                         esp=esp, lane=drafts[i].lane)
                      for n, i in enumerate(fresh)}
            traceparent = current_traceparent()
            keys: list[str] = []
            args: list[object] = [self.ttl, self.bodies.ttl_s, len(fresh)]
            for i in fresh:
                self._publish(keys, args, esp, drafts[i], events[i], traceparent)
            replies = await self._publish_all(keys=keys, args=args)
            for i, reply in zip(fresh, replies, strict=True):
                event = events[i]
                if drafts[i].idempotency_key:
                    winner = _split(reply)
                    if winner[0] != event.report_id:  # a concurrent retry got there first
                        results[i] = _replay(drafts[i], *winner)
                        continue
                results[i] = Accepted(event.report_id, event.lane, event.event_id)
        await self.replicated.wait()  # a replay too: its first answer may have been that it was not
        return [results[i] for i in range(len(drafts))]

    def _publish(self, keys: list[str], args: list[object], esp: str, draft: Draft,
                 event: ReportSubmitted, traceparent: str | None) -> None:
        """One report's keys and arguments of the batch's script."""
        stream = self.topology.submitted[event.lane]
        body_key = self.topology.report_body(event.report_id)
        key = draft.idempotency_key
        fields = self.publisher.args(stream, event, traceparent)
        keys += [self.topology.idempotency_key(esp, key) if key else body_key, stream, body_key]
        args += [1 if key else 0, f"{event.report_id}:{draft.fingerprint}",
                 bodies.encode(draft.report), len(fields), *fields]


def _replay(draft: Draft, report_id: int, fingerprint: str) -> Accepted:
    return Accepted(report_id, draft.lane, None, conflict=fingerprint != draft.fingerprint)


def _split(value: bytes | str) -> tuple[int, str]:
    text = value.decode() if isinstance(value, bytes) else value
    report_id, _, fingerprint = text.partition(":")
    return int(report_id), fingerprint


class LaneBacklog:
    """How many reports wait on each submitted lane for triage (not yet read, or read and not yet
    done), read at most every `max_age_s`: one round trip a second however busy intake is."""

    def __init__(self, redis: Redis, topology: Topology, bound: int, max_age_s: float = 1.0) -> None:
        self.redis = redis
        self.topology = topology
        self.bound = bound
        self.max_age_s = max_age_s
        self._read_at = 0.0
        self._sizes: dict[str, int] = {}

    async def sizes(self) -> dict[str, int]:
        if time.monotonic() - self._read_at > self.max_age_s:
            by_stream = {stream: lag + pending for stream, _, lag, pending in await group_state(
                self.redis, {TRIAGE: list(self.topology.submitted.values())})}
            self._sizes = {lane: by_stream.get(stream, 0)
                           for lane, stream in self.topology.submitted.items()}
            self._read_at = time.monotonic()
        return self._sizes

    async def over_bound(self, lanes: set[Lane]) -> set[Lane]:
        sizes = await self.sizes()
        return {lane for lane in lanes if sizes.get(lane, 0) >= self.bound}
