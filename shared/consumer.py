"""The one consume -> handle -> publish -> ack -> dead-letter loop every service uses.

A batch of stream entries is read by a FastStream subscriber (consumer group, batch=True,
AckPolicy.MANUAL). Each entry is decoded and validated on its own; its handler records what it
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

import inspect
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from faststream import AckPolicy, Context
from faststream.message import StreamMessage
from faststream.redis import RedisBroker, StreamSub
from pydantic import BaseModel, TypeAdapter, ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript
from redis.exceptions import ResponseError

from shared import topology
from shared.logging import bound, get_logger
from shared.schemas.events import MessageDeadLettered

DATA_FIELD = b"data"

log = get_logger(__name__)


def encode(event: BaseModel) -> dict[bytes, bytes]:
    """The wire form of an event: one field holding its JSON."""
    return {DATA_FIELD: event.model_dump_json().encode()}


WriteOp = Callable[[Pipeline], Any]


@dataclass
class Outbox:
    """What handling one message writes; applied in the same transaction as its ack."""

    ops: list[WriteOp] = field(default_factory=list)

    def publish(self, stream: str, event: BaseModel) -> None:
        fields = encode(event)
        self.ops.append(lambda pipe: pipe.xadd(stream, fields))

    def write(self, op: WriteOp) -> None:
        self.ops.append(op)


Handler = Callable[[Any, Outbox], Awaitable[None] | None]


def queue_script(pipe: Pipeline, script: AsyncScript, keys: Sequence[Any], args: Sequence[Any]) -> None:
    """Queue a Lua script in a transaction (redis-py's own call is a coroutine there); the pipeline
    loads the script on the server before it executes if needed."""
    pipe.scripts.add(script)
    pipe.evalsha(script.sha, len(keys), *keys, *args)


@dataclass(frozen=True)
class BatchResult:
    handled: int
    dead_lettered: int
    left_pending: int


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
        adapter: TypeAdapter[Any],
        handler: Handler,
        deliveries: Sequence[int] | None = None,
    ) -> BatchResult:
        ops: list[WriteOp] = []
        dead: list[MessageDeadLettered] = []
        done: list[bytes] = []
        pending = 0
        for index, (entry_id, fields) in enumerate(entries):
            delivery = deliveries[index] if deliveries else 1
            try:
                event = adapter.validate_json(fields.get(DATA_FIELD, b""))
            except ValidationError as exc:
                dead.append(self._dead(stream, entry_id, fields, _describe(exc), delivery))
                done.append(entry_id)
                continue
            with bound(report_id=getattr(event, "report_id", None), event_id=event.event_id):
                outbox = Outbox()
                try:
                    result = handler(event, outbox)
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
                        pending += 1
                    continue
            ops.extend(outbox.ops)
            done.append(entry_id)
        if done:
            async with self.redis.pipeline(transaction=True) as pipe:
                for op in ops:
                    op(pipe)
                for letter in dead:
                    pipe.xadd(topology.DEAD_LETTERS, encode(letter))
                pipe.xack(stream, self.group, *done)
                await pipe.execute()
        for letter in dead:
            log.warning("dead-lettered", stream=stream, entry_id=letter.source_entry_id,
                        reason=letter.reason)
        return BatchResult(handled=len(done) - len(dead), dead_lettered=len(dead), left_pending=pending)

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
    adapter: TypeAdapter[Any],
    handler: Handler,
    consumer: str,
    batch_size: int,
    poll_ms: int,
    reclaim_idle_ms: int,
    description: str = "",
) -> None:
    """Attach `handler` to `stream` for the loop's group: one subscriber reads new entries, another
    takes over entries left pending (by a crash or a failure) for longer than `reclaim_idle_ms`."""

    async def consume_new(message: Any = Context("message")) -> None:
        raw = message.raw_message
        entries = list(zip(raw["message_ids"], raw["data"], strict=True))
        await loop.process(stream, entries, adapter, handler)

    async def consume_reclaimed(message: Any = Context("message")) -> None:
        raw = message.raw_message
        entries = [(i, d) for i, d in zip(raw["message_ids"], raw["data"], strict=True) if d]
        if not entries:  # entries trimmed away while pending come back empty
            await loop.redis.xack(stream, loop.group, *raw["message_ids"])
            return
        counts = await loop.delivery_counts(stream, [i for i, _ in entries])
        await loop.process(stream, entries, adapter, handler, deliveries=counts)

    common = dict(parser=_pass_through, ack_policy=AckPolicy.MANUAL)
    broker.subscriber(
        stream=StreamSub(stream, group=loop.group, consumer=consumer, batch=True,
                         max_records=batch_size, polling_interval=poll_ms),
        title=f"{loop.group}:{stream}", description=description, **common,
    )(consume_new)
    broker.subscriber(
        stream=StreamSub(stream, group=loop.group, consumer=consumer, batch=True,
                         max_records=batch_size, polling_interval=max(poll_ms, 1000),
                         min_idle_time=reclaim_idle_ms),
        title=f"{loop.group}:{stream}:reclaim", include_in_schema=False, **common,
    )(consume_reclaimed)


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
