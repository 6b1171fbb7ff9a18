"""The one consume -> handle -> commit -> dead-letter loop every service uses.

A batch of stream entries (read by shared.reading) is handed to ConsumeLoop.process. Each entry is
decoded and validated on its own; its handler records what it produces in an Effects buffer (values, no
Redis). Then one Lua script commits the batch: for every entry, in order,

  1. Is it still pending for the group? If not, another delivery of the same entry has already
     committed (a twin handled by another consumer that took it over): its writes are skipped.
  2. Record its event id in the group's seen-records (a set per TIPLINE_DEDUPE_TTL_S bucket).
     If the id was there, the same event came again in another entry: its writes are skipped.
  3. Otherwise apply its writes: published events (entries made by shared.publishing, checked
     against the service's contract), plain commands, and its collected items,
     which the subscription's collector writes at the end of the script.

So an entry's effects happen exactly once however often it is delivered, and an entry is
acknowledged exactly when its effects exist. Failures, per entry (the rest of the batch goes on):
- not valid JSON or not the expected event: dead-lettered at once (it will never get better);
- the prepare step or the handler raises: left pending; the reclaimer delivers it again; on its
  `max_deliveries`-th delivery it is dead-lettered with the error;
- Redis fails (prepare or commit): the whole batch stays pending and is reclaimed the same way,
  without counting as a failure of any entry.
"""

import asyncio
import inspect
import json
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import trace
from pydantic import TypeAdapter, ValidationError
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from shared import wire
from shared.connect import CLUSTER_UNAVAILABLE
from shared.effects import Collector, Command, Effects
from shared.faults import NONE as NO_FAULTS
from shared.faults import Faults, InjectedFailure, fails
from shared.logging import get_logger, message_context
from shared.metrics import Metrics
from shared.publishing import Publisher
from shared.schemas.events import MessageDeadLettered
from shared.tracing import consumer_span, current_traceparent, link_to, sdk_installed, tracer

log = get_logger(__name__)

# Errors of the infrastructure, not of a message: they never count towards dead-lettering.
INFRASTRUCTURE_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError, *CLUSTER_UNAVAILABLE)

Handler = Callable[[Any, Effects], Awaitable[None] | None]
# Looks up, for a whole batch in one round trip, what handlers need from Redis: event id -> value.
# Its own writes must be idempotent by event id (it runs again for a redelivered entry).
Prepare = Callable[[list[Any]], Awaitable[dict[str, Any]]]

# ARGV: stream, group, consumer, seen-record ttl (0: none), seen-record key prefix, the current
# seen bucket, entry count, then per entry: entry id, event id ('' when it has no seen-record),
# command count, each command as its argument count and arguments, item count, items. Returns 1
# per entry whose writes were applied.
#
# The gate takes a few commands per batch, not two per entry: one XCLAIM (JUSTID, no delivery
# counted) answers which entries are still pending for the group (a twin's commit acknowledged
# the others), two SMISMEMBER which event ids the group committed in this seen bucket or the one
# before (a set per bucket of `ttl` seconds, so an id is remembered between one and two ttl),
# then one SADD and one EXPIRE record the batch's new ids and one XACK acknowledges the batch.
_COMMIT = """
local stream, group, consumer = ARGV[1], ARGV[2], ARGV[3]
local ttl, seen, bucket = tonumber(ARGV[4]), ARGV[5], tonumber(ARGV[6])
local count = tonumber(ARGV[7])
local ids, events, starts = {}, {}, {}
local i = 8
for e = 1, count do
  ids[e], events[e] = ARGV[i], ARGV[i + 1]
  i = i + 2
  starts[e] = i
  local commands = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, commands do i = i + tonumber(ARGV[i]) + 1 end
  i = i + tonumber(ARGV[i]) + 1
end
local claim = {'XCLAIM', stream, group, consumer, 0}
for e = 1, count do claim[#claim + 1] = ids[e] end
claim[#claim + 1] = 'JUSTID'
local pending = {}
for _, id in ipairs(redis.call(unpack(claim))) do pending[id] = true end
local fresh, wanted = {}, {}
for e = 1, count do
  fresh[e] = pending[ids[e]] == true
  if fresh[e] and ttl > 0 and events[e] ~= '' then wanted[#wanted + 1] = events[e] end
end
if #wanted > 0 then
  local known = {}
  for _, key in ipairs({seen .. bucket, seen .. (bucket - 1)}) do
    local found = redis.call('SMISMEMBER', key, unpack(wanted))
    for k = 1, #wanted do
      if found[k] == 1 then known[wanted[k]] = true end
    end
  end
  local added = {}
  for e = 1, count do
    if fresh[e] and ttl > 0 and events[e] ~= '' then
      if known[events[e]] then fresh[e] = false  -- the same event came again in another entry
      else known[events[e]] = true; added[#added + 1] = events[e] end
    end
  end
  if #added > 0 then
    redis.call('SADD', seen .. bucket, unpack(added))
    redis.call('EXPIRE', seen .. bucket, 2 * ttl)
  end
end
local acked = {}
for id in pairs(pending) do acked[#acked + 1] = id end
if #acked > 0 then redis.call('XACK', stream, group, unpack(acked)) end
local items, applied = {}, {}
for e = 1, count do
  applied[e] = fresh[e] and 1 or 0
  i = starts[e]
  local commands = tonumber(ARGV[i])
  i = i + 1
  for _ = 1, commands do
    local argc = tonumber(ARGV[i])
    if fresh[e] then redis.call(unpack(ARGV, i + 1, i + argc)) end
    i = i + argc + 1
  end
  local n = tonumber(ARGV[i])
  i = i + 1
  if fresh[e] then
    for k = 0, n - 1 do items[#items + 1] = ARGV[i + k] end
  end
end
"""


@dataclass(frozen=True)
class Subscription:
    """How one kind of message is handled: its type, its handler, an optional batch lookup, an
    optional collector, and whether its event ids get seen-records (a subscription whose writes are
    idempotent by their own keys, like the tracker's ledger, needs none)."""

    adapter: TypeAdapter[Any]
    handler: Handler
    prepare: Prepare | None = None
    collector: Collector | None = None
    dedupe: bool = True


@dataclass
class _Done:
    entry_id: bytes
    event_id: str
    commands: list[Command]
    items: list[str | bytes] = field(default_factory=list)


def describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        errors = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)[:10]
        )
        return f"invalid message: {errors}"
    return f"{type(exc).__name__}: {exc}"


def _fields_as_json(fields: wire.Fields) -> str:
    return json.dumps(
        {k.decode(errors="replace"): v.decode(errors="replace") for k, v in fields.items()}
    )


class ConsumeLoop:
    """Handles batches of entries of one consumer group: the only place that acks or dead-letters."""

    def __init__(self, redis: Redis, group: str, *, consumer: str, publisher: Publisher,
                 dead_letters: str, seen_prefix: str, max_deliveries: int, dedupe_ttl_s: int,
                 metrics: Metrics, faults: Callable[[], Faults] = lambda: NO_FAULTS) -> None:
        self.redis = redis
        self.group = group
        self.consumer = consumer  # the entries a commit acknowledges are claimed to it first
        self.faults = faults  # the faults in force (a workshop's slow and fail faults)
        self.dead_letters = dead_letters
        self.seen_prefix = seen_prefix
        self.max_deliveries = max_deliveries
        self.dedupe_ttl_s = dedupe_ttl_s
        self.metrics = metrics
        self.publisher = publisher
        # Entries this process has read and not yet finished: the reclaimer leaves them alone.
        self.held: dict[str, set[bytes]] = defaultdict(set)
        self._scripts: dict[int, tuple[AsyncScript, Collector | None]] = {}

    # ---- what this process holds ----

    def hold(self, stream: str, entry_ids: Sequence[bytes]) -> None:
        self.held[stream].update(entry_ids)

    def holds(self, stream: str, entry_id: bytes) -> bool:
        return entry_id in self.held[stream]

    def release(self, stream: str, entry_ids: Sequence[bytes]) -> None:
        self.held[stream].difference_update(entry_ids)

    # ---- one batch ----

    async def process(self, stream: str, entries: Sequence[tuple[bytes, wire.Fields]],
                      sub: Subscription, deliveries: Sequence[int] | None = None) -> int:
        """Handle and commit a batch; how many entries' writes were applied."""
        try:
            return await self._process(stream, entries, sub, deliveries)
        finally:
            self.release(stream, [entry_id for entry_id, _ in entries])

    async def _process(self, stream: str, entries: Sequence[tuple[bytes, wire.Fields]],
                       sub: Subscription, deliveries: Sequence[int] | None) -> int:
        started = time.perf_counter()
        m = self.metrics.stream(stream, self.group)
        done: list[_Done] = []
        letters: list[MessageDeadLettered] = []
        valid: list[tuple[bytes, wire.Fields, Any, int]] = []
        for index, (entry_id, fields) in enumerate(entries):
            delivery = deliveries[index] if deliveries else 1
            try:
                valid.append((entry_id, fields, sub.adapter.validate_json(wire.payload(fields)),
                              delivery))
            except ValidationError as exc:
                letters.append(self._dead(stream, entry_id, fields, describe(exc), delivery))
        prepared, unprepared = await self._prepare(sub, [event for _, _, event, _ in valid])
        faults = self.faults()
        slow_s, failing = faults.slow_ms(self.group) / 1000, faults.failure_share(self.group)
        spans = []
        sdk = sdk_installed()  # asked once for the batch
        for entry_id, fields, event, delivery in valid:
            event_id = getattr(event, "event_id", "") or ""
            with consumer_span(stream, self.group, entry_id, event, wire.traceparent(fields),
                               sdk) as span, \
                    message_context(getattr(event, "report_id", None), event_id):
                spans.append(span)
                handled_at = time.perf_counter()
                effects = Effects(prepared=prepared.get(event_id))
                error = unprepared.get(event_id)
                writes = None
                if slow_s:
                    await asyncio.sleep(slow_s)
                if error is None and fails(entry_id, delivery, failing):
                    error = InjectedFailure(f"a fault fails {failing:.0%} of {self.group}'s "
                                            "deliveries")
                if error is None:
                    try:
                        result = sub.handler(event, effects)
                        if inspect.isawaitable(result):
                            await result
                        # An event for a stream the service does not produce fails here, as
                        # the handler's own error would.
                        writes = self._writes(entry_id, event_id if sub.dedupe else "", effects,
                                              current_traceparent(), sub.collector)
                    except Exception as exc:
                        error = exc
                m.handler_seconds.observe(time.perf_counter() - handled_at)
                if error is not None:
                    span.record_exception(error)
                    span.set_status(trace.StatusCode.ERROR, describe(error))
                    if delivery >= self.max_deliveries:
                        log.error("handler failed; dead-lettering", stream=stream,
                                  deliveries=delivery, error=describe(error), exc_info=error)
                        letters.append(self._dead(stream, entry_id, fields, describe(error),
                                                  delivery))
                    else:
                        m.failed.inc()
                        log.warning("handler failed; left pending for redelivery", stream=stream,
                                    deliveries=delivery, error=describe(error), exc_info=error)
                    continue
                assert writes is not None
                done.append(writes)
        handled = len(done)
        for letter in letters:
            done.append(_Done(letter.source_entry_id.encode(), "", [
                self.publisher.command(self.dead_letters, letter)]))
        applied = await self._commit(stream, done, sub.collector, spans) if done else []
        m.handled.inc(sum(applied[:handled]))
        m.duplicates.inc(len(applied) - sum(applied))
        for letter, ok in zip(letters, applied[handled:], strict=True):
            if ok:
                m.dead_lettered.inc()
                log.warning("dead-lettered", stream=stream, entry_id=letter.source_entry_id,
                            reason=letter.reason)
        m.batch_seconds.observe(time.perf_counter() - started)
        return sum(applied)

    async def _prepare(self, sub: Subscription, events: list[Any]) -> tuple[dict[str, Any],
                                                                         dict[str, Exception]]:
        """The batch's lookups; when they fail for the batch, entry by entry, so that one entry
        that makes them fail is dead-lettered in time and the others go on."""
        if not sub.prepare or not events:
            return {}, {}
        try:
            return await sub.prepare(events), {}
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception as exc:
            log.warning("prepare failed for the batch; preparing entry by entry",
                        error=describe(exc))
        prepared: dict[str, Any] = {}
        failed: dict[str, Exception] = {}
        for event in events:
            try:
                prepared.update(await sub.prepare([event]))
            except INFRASTRUCTURE_ERRORS:
                raise
            except Exception as exc:
                failed[event.event_id] = exc
        return prepared, failed

    def _writes(self, entry_id: bytes, event_id: str, effects: Effects, traceparent: str | None,
                collector: Collector | None) -> _Done:
        commands: list[Command] = [self.publisher.command(p.stream, p.event, traceparent)
                                   for p in effects.published]
        commands += [("ZADD", d.key, d.due, self.publisher.member(d.stream, d.event, traceparent))
                     for d in effects.deferred]
        commands += effects.commands
        if effects.collected and collector is None:
            raise ValueError("a handler collected items but its subscription has no collector")
        items = [collector.encode(item) for item in effects.collected] if collector else []
        return _Done(entry_id, event_id, commands, items)

    async def _commit(self, stream: str, done: list[_Done], collector: Collector | None,
                      spans: list[Any]) -> list[int]:
        bucket = int(time.time() // self.dedupe_ttl_s) if self.dedupe_ttl_s else 0
        args: list[Any] = [stream, self.group, self.consumer, self.dedupe_ttl_s,
                           self.seen_prefix, bucket, len(done)]
        for d in done:
            args += [d.entry_id, d.event_id, len(d.commands)]
            for command in d.commands:
                args += [len(command), *command]
            args += [len(d.items), *d.items]
        script = self._script(collector)
        with tracer().start_as_current_span(f"commit {stream}", links=link_to(spans)) as span:
            span.set_attribute("messaging.batch.message_count", len(done))
            # The stream is the first key: a cluster client sends the script to its master.
            keys = [stream, *(collector.keys() if collector else [])]
            applied = await script(keys=keys, args=args)
        return [int(a) for a in applied]

    def _script(self, collector: Collector | None) -> AsyncScript:
        key = id(collector)
        if key not in self._scripts:
            body = _COMMIT
            if collector is not None:
                body += "do\n" + collector.lua + "\nend\n"
            body += "return applied\n"
            self._scripts[key] = (self.redis.register_script(body), collector)
        return self._scripts[key][0]

    def _dead(self, stream: str, entry_id: bytes, fields: wire.Fields, reason: str,
              deliveries: int) -> MessageDeadLettered:
        return MessageDeadLettered(
            source_stream=stream, source_entry_id=entry_id.decode(), group=self.group,
            reason=reason, deliveries=deliveries, payload=_fields_as_json(fields),
        )
