"""The one consume -> handle -> publish -> ack -> dead-letter loop every service uses.

A batch of stream entries is read for a consumer group -- by a FastStream subscriber (batch=True,
AckPolicy.MANUAL) for a single stream, by a LaneReader for lanes read in order of urgency -- and
handed to ConsumeLoop.process. Each entry is decoded and validated on its own; its handler records what it
wants written in an Outbox. Then everything the batch produced -- published events, extra writes,
dead letters and the XACK of every finished entry -- goes to Redis in one MULTI/EXEC, so an entry
is acknowledged exactly when its output exists, and a crash leaves it pending, never half done.

Failures, per entry (the rest of the batch goes on):
- not valid JSON or not the expected event: dead-lettered at once (it will never get better);
- the handler raises: left pending; a reclaiming subscriber (XAUTOCLAIM after
  `reclaim_idle_ms`) delivers it again; on its `max_deliveries`-th delivery it is dead-lettered
  with the last error;
- the write to Redis fails: the whole batch stays pending and is reclaimed the same way.
"""

import asyncio
import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from faststream import AckPolicy, Context
from faststream.message import StreamMessage
from faststream.redis import RedisBroker, StreamSub
from pydantic import BaseModel, TypeAdapter, ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from shared import topology
from shared.logging import get_logger, message_context
from shared.schemas.events import MessageDeadLettered

DATA_FIELD = b"data"

log = get_logger(__name__)


def encode(event: BaseModel) -> dict[bytes, bytes]:
    """The wire form of an event: one field holding its JSON."""
    return {DATA_FIELD: event.model_dump_json().encode()}


WriteOp = Callable[[Pipeline], Any]


class Collector(Protocol):
    """Writes the items of a whole batch at once (one command instead of one per message)."""

    def flush(self, pipe: Pipeline, items: list[Any]) -> None: ...


@dataclass
class Outbox:
    """What handling one message writes; applied in the same transaction as its ack.
    `prepared` is what the subscription's prepare step looked up for this message, if any."""

    ops: list[WriteOp] = field(default_factory=list)
    collected: list[tuple[Collector, Any]] = field(default_factory=list)
    prepared: Any = None

    def publish(self, stream: str, event: BaseModel) -> None:
        fields = encode(event)
        self.ops.append(lambda pipe: pipe.xadd(stream, fields))

    def write(self, op: WriteOp) -> None:
        self.ops.append(op)

    def collect(self, collector: Collector, item: Any) -> None:
        self.collected.append((collector, item))


Handler = Callable[[Any, Outbox], Awaitable[None] | None]
# Looks up, for a whole batch in one round trip, what handlers need from Redis: event id -> value.
# It must not fail because of one bad message (leave it out; its handler then fails on its own).
Prepare = Callable[[list[Any]], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Subscription:
    """How one kind of message is handled: its type, its handler, and an optional batch lookup."""

    adapter: TypeAdapter[Any]
    handler: Handler
    prepare: Prepare | None = None


def queue_script(pipe: Pipeline, script: AsyncScript, keys: Sequence[Any], args: Sequence[Any]) -> None:
    """Queue a Lua script in a transaction (redis-py's own call is a coroutine there); the pipeline
    loads the script on the server before it executes if needed."""
    pipe.scripts.add(script)
    pipe.evalsha(script.sha, len(keys), *keys, *args)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        errors = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
            for e in exc.errors(include_url=False)[:10]
        )
        return f"invalid message: {errors}"
    return f"{type(exc).__name__}: {exc}"


def _fields_as_json(fields: dict[bytes, bytes]) -> str:
    return json.dumps(
        {k.decode(errors="replace"): v.decode(errors="replace") for k, v in fields.items()}
    )


class ConsumeLoop:
    """Handles batches of entries of one consumer group: the only place that acks or dead-letters."""

    def __init__(self, redis: Redis, group: str, max_deliveries: int) -> None:
        self.redis = redis
        self.group = group
        self.max_deliveries = max_deliveries

    async def process(
        self,
        stream: str,
        entries: Sequence[tuple[bytes, dict[bytes, bytes]]],
        sub: Subscription,
        deliveries: Sequence[int] | None = None,
    ) -> None:
        dead: list[MessageDeadLettered] = []
        done: list[bytes] = []
        valid: list[tuple[bytes, dict[bytes, bytes], Any, int]] = []
        for index, (entry_id, fields) in enumerate(entries):
            delivery = deliveries[index] if deliveries else 1
            try:
                valid.append((entry_id, fields, sub.adapter.validate_json(fields.get(DATA_FIELD, b"")),
                              delivery))
            except ValidationError as exc:
                dead.append(self._dead(stream, entry_id, fields, _describe(exc), delivery))
                done.append(entry_id)
        prepared = await sub.prepare([e for _, _, e, _ in valid]) if sub.prepare and valid else {}
        ops: list[WriteOp] = []
        collected: dict[int, tuple[Collector, list[Any]]] = {}
        for entry_id, fields, event, delivery in valid:
            with message_context(getattr(event, "report_id", None), event.event_id):
                outbox = Outbox(prepared=prepared.get(event.event_id))
                try:
                    result = sub.handler(event, outbox)
                    if inspect.isawaitable(result):
                        await result
                except Exception as exc:
                    if delivery >= self.max_deliveries:
                        log.error("handler failed; dead-lettering", stream=stream,
                                  deliveries=delivery, error=_describe(exc))
                        dead.append(self._dead(stream, entry_id, fields, _describe(exc), delivery))
                        done.append(entry_id)
                    else:
                        log.warning("handler failed; left pending for redelivery", stream=stream,
                                    deliveries=delivery, error=_describe(exc))
                    continue
            ops.extend(outbox.ops)
            for collector, item in outbox.collected:
                collected.setdefault(id(collector), (collector, []))[1].append(item)
            done.append(entry_id)
        if done:
            async with self.redis.pipeline(transaction=True) as pipe:
                for op in ops:
                    op(pipe)
                for collector, items in collected.values():
                    collector.flush(pipe, items)
                for letter in dead:
                    pipe.xadd(topology.DEAD_LETTERS, encode(letter))
                pipe.xack(stream, self.group, *done)
                await pipe.execute()
        for letter in dead:
            log.warning("dead-lettered", stream=stream, entry_id=letter.source_entry_id,
                        reason=letter.reason)

    def _dead(
        self, stream: str, entry_id: bytes, fields: dict[bytes, bytes], reason: str, deliveries: int
    ) -> MessageDeadLettered:
        return MessageDeadLettered(
            source_stream=stream, source_entry_id=entry_id.decode(), group=self.group,
            reason=reason, deliveries=deliveries, payload=_fields_as_json(fields),
        )

    async def delivery_counts(self, stream: str, entry_ids: Sequence[bytes]) -> list[int]:
        """How often each (reclaimed) entry has been delivered, from the pending entries list."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for entry_id in entry_ids:
                pipe.xpending_range(stream, self.group, min=entry_id, max=entry_id, count=1)
            replies = await pipe.execute()
        return [reply[0]["times_delivered"] if reply else 1 for reply in replies]


async def _pass_through(message: Any, _original: Any) -> StreamMessage[Any]:
    # The loop decodes entries itself (one field of JSON, validated per entry), so FastStream's
    # own envelope parsing is bypassed.
    return StreamMessage(raw_message=message, body=b"")


def subscribe(
    broker: RedisBroker,
    loop: ConsumeLoop,
    *,
    stream: str,
    sub: Subscription,
    consumer: str,
    batch_size: int,
    poll_ms: int,
    description: str = "",
) -> None:
    """Attach a subscription to new entries of `stream` for the loop's group (a FastStream
    subscriber)."""

    async def consume_new(message: Any = Context("message")) -> None:
        raw = message.raw_message
        entries = list(zip(raw["message_ids"], raw["data"], strict=True))
        await loop.process(stream, entries, sub)

    broker.subscriber(
        stream=StreamSub(stream, group=loop.group, consumer=consumer, batch=True,
                         max_records=batch_size, polling_interval=poll_ms),
        title=f"{loop.group}:{stream}", description=description,
        parser=_pass_through, ack_policy=AckPolicy.MANUAL,
    )(consume_new)


def subscribe_reclaim(
    broker: RedisBroker,
    loop: ConsumeLoop,
    *,
    stream: str,
    sub: Subscription,
    consumer: str,
    batch_size: int,
    reclaim_idle_ms: int,
) -> None:
    """Take over entries of `stream` left pending (by a failure, or by a consumer that died) for
    longer than `reclaim_idle_ms` (XAUTOCLAIM), and hand them to the loop with their delivery count."""

    async def consume_reclaimed(message: Any = Context("message")) -> None:
        raw = message.raw_message
        entries = [(i, d) for i, d in zip(raw["message_ids"], raw["data"], strict=True) if d]
        if not entries:  # entries trimmed away while pending come back empty
            await loop.redis.xack(stream, loop.group, *raw["message_ids"])
            return
        counts = await loop.delivery_counts(stream, [i for i, _ in entries])
        await loop.process(stream, entries, sub, deliveries=counts)

    broker.subscriber(
        stream=StreamSub(stream, group=loop.group, consumer=consumer, batch=True,
                         max_records=batch_size, polling_interval=min(reclaim_idle_ms, 1000),
                         min_idle_time=reclaim_idle_ms),
        title=f"{loop.group}:{stream}:reclaim", include_in_schema=False,
        parser=_pass_through, ack_policy=AckPolicy.MANUAL,
    )(consume_reclaimed)


@dataclass(frozen=True)
class Lane:
    stream: str
    sub: Subscription


class LaneReader:
    """Reads new entries of several streams for one group in one call, and handles them most
    urgent lane first. With strict order, a less urgent lane's entries are handled
    `preempt_every` at a time, and before each such chunk the more urgent lanes are read again and
    drained: an urgent entry never waits behind a backlog, at most behind one chunk in hand.
    With strict=False the lanes have no order (many streams of equal standing, one call)."""

    def __init__(self, loop: ConsumeLoop, lanes: Sequence[Lane], consumer: str, batch_size: int,
                 poll_ms: int, strict: bool = True, preempt_every: int = 20) -> None:
        self.loop = loop
        self.lanes = list(lanes)
        self.consumer = consumer
        self.batch_size = batch_size
        self.poll_ms = poll_ms
        self.strict = strict
        self.preempt_every = preempt_every
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    async def read_once(self, block_ms: int | None = None) -> int:
        """Read every lane (waiting up to `block_ms` when all are empty) and handle what came."""
        reply = await self._read(self.lanes, block_ms)
        return await self._handle(reply) if reply else 0

    async def _read(self, lanes: Sequence[Lane], block_ms: int | None = None) -> Any:
        return await self.loop.redis.xreadgroup(
            self.loop.group, self.consumer, {lane.stream: ">" for lane in lanes},
            count=self.batch_size, block=block_ms)

    async def _handle(self, reply: Any) -> int:
        by_stream = {(s.decode() if isinstance(s, bytes) else s): entries for s, entries in reply}
        handled = 0
        for rank, lane in enumerate(self.lanes):
            entries = by_stream.get(lane.stream) or []
            step = self.preempt_every if self.strict and rank > 0 else len(entries) or 1
            for start in range(0, len(entries), step):
                if self.strict and rank > 0:
                    handled += await self._drain(self.lanes[:rank])
                await self.loop.process(lane.stream, entries[start:start + step], lane.sub)
                handled += len(entries[start:start + step])
        return handled

    async def _drain(self, lanes: Sequence[Lane]) -> int:
        """Handle everything waiting on these (more urgent) lanes."""
        handled = 0
        while reply := await self._read(lanes):
            handled += await self._handle(reply)
        return handled

    async def run(self) -> None:
        while not self._stopping:
            try:
                await self.read_once(self.poll_ms)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away for a moment: what was read stays pending
                log.error("lane read failed; retrying", error=_describe(exc))
                await asyncio.sleep(1.0)


async def ensure_groups(redis: Redis, groups: dict[str, Sequence[str]]) -> None:
    """Create every consumer group at the start of its stream, before anything is published, so
    no entry is written to a stream whose readers would start after it."""
    for group, streams in groups.items():
        for stream in streams:
            try:
                await redis.xgroup_create(stream, group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise


async def missing_groups(redis: Redis, groups: dict[str, Sequence[str]]) -> list[str]:
    async with redis.pipeline(transaction=False) as pipe:
        wanted = [(group, stream) for group, streams in groups.items() for stream in streams]
        for _, stream in wanted:
            pipe.xinfo_groups(stream)
        replies = await pipe.execute(raise_on_error=False)
    missing = []
    for (group, stream), reply in zip(wanted, replies, strict=True):
        names = set() if isinstance(reply, Exception) else {
            (g["name"].decode() if isinstance(g["name"], bytes) else g["name"]) for g in reply
        }
        if group not in names:
            missing.append(f"{stream} (group {group})")
    return missing
