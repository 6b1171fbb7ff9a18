"""Reading streams for the consume loop: new entries in order of urgency, and idle ones taken over.

LaneReader reads every stream of a service with one XREADGROUP (blocking while all are empty).
With strict order, a less urgent lane's entries are handled `preempt_every` at a time, and before
each such chunk the more urgent lanes are read again and drained: an urgent entry never waits
behind a backlog, at most behind one chunk in hand. Without strict order the streams have equal
standing (many agency inboxes, the tracker's every stage).

A read that found less than a batch on every stream is followed by a short wait (`linger_ms`)
before the next, so that a stage which keeps up with its input reads fuller batches: what a batch
costs (its read, its commit's gate, the ledger's counters and indexes) is shared by more entries.
Under a backlog every read is full and nobody waits. The urgent lanes (`Topology.urgent`: escalated
and priority-1 reports, watch alerts) are read during the wait, blocking: an urgent entry is
handled the moment it comes.

Reclaimer takes over entries pending longer than the reclaim time: those of a consumer that died
or stalled, and those whose handler failed. It never takes what this process still holds (read
and not yet committed, perhaps waiting behind an urgent lane): a live reader's entries are not
handled twice by its own process. Entries of another process that stalls past the reclaim time
are taken over; should that process wake and commit them too, the commit's XACK gate writes
nothing twice (shared.loop).
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.logging import get_logger
from shared.loop import ConsumeLoop, Subscription
from shared.worker import Periodic

log = get_logger(__name__)


@dataclass(frozen=True)
class Lane:
    stream: str
    sub: Subscription


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class LaneReader:
    def __init__(self, loop: ConsumeLoop, lanes: Sequence[Lane], consumer: str, batch_size: int,
                 block_ms: int, strict: bool = True, preempt_every: int = 20,
                 linger_ms: int = 0, urgent: Sequence[Lane] = ()) -> None:
        self.loop = loop
        self.lanes = list(lanes)
        self.consumer = consumer
        self.batch_size = batch_size
        self.block_ms = block_ms
        self.strict = strict
        self.preempt_every = preempt_every
        self.linger_ms = linger_ms
        self.urgent = list(urgent)  # read while lingering

    def worker(self) -> Periodic:
        async def step() -> bool:
            reply = await self._read(self.lanes, self.block_ms)
            if reply:
                await self._handle(reply)
                # every stream read to its end: let the next batches gather
                if self.linger_ms and all(len(e) < self.batch_size for _, e in reply):
                    await self.linger()
            return True  # the blocking read is the wait

        return Periodic(f"{self.loop.group}-reader", step, interval_s=0)

    async def read_once(self, block_ms: int | None = None) -> int:
        """Read every lane (waiting up to `block_ms` when all are empty) and handle what came."""
        reply = await self._read(self.lanes, block_ms)
        return await self._handle(reply) if reply else 0

    async def linger(self) -> int:
        """Wait `linger_ms` for more entries to gather, reading the urgent lanes meanwhile and
        handling what comes on them at once."""
        if not self.urgent:
            await asyncio.sleep(self.linger_ms / 1000)
            return 0
        handled, loop = 0, asyncio.get_running_loop()
        until = loop.time() + self.linger_ms / 1000
        while (left_ms := int((until - loop.time()) * 1000)) > 0:
            if reply := await self._read(self.urgent, min(left_ms, self.block_ms)):
                handled += await self._handle(reply)
        return handled

    async def _read(self, lanes: Sequence[Lane], block_ms: int | None = None) -> Any:
        reply = await self.loop.redis.xreadgroup(
            self.loop.group, self.consumer, {lane.stream: ">" for lane in lanes},
            count=self.batch_size, block=block_ms)
        for stream, entries in reply or []:
            self.loop.hold(_text(stream), [entry_id for entry_id, _ in entries])
        return reply

    async def _handle(self, reply: Any) -> int:
        by_stream = {_text(s): entries for s, entries in reply}
        handled = 0
        try:
            for rank, lane in enumerate(self.lanes):
                entries = by_stream.get(lane.stream) or []
                step = self.preempt_every if self.strict and rank > 0 else len(entries) or 1
                for start in range(0, len(entries), step):
                    if self.strict and rank > 0:
                        handled += await self._drain(self.lanes[:rank])
                    chunk = entries[start:start + step]
                    await self.loop.process(lane.stream, chunk, lane.sub)
                    handled += len(chunk)
        finally:
            # Whatever ended the handling (Redis away mid-commit, a stop), nothing of this read
            # stays held: what was not committed is pending, for the reclaimer to take over.
            for stream, entries in by_stream.items():
                self.loop.release(stream, [entry_id for entry_id, _ in entries])
        return handled

    async def _drain(self, lanes: Sequence[Lane]) -> int:
        """Handle everything waiting on these (more urgent) lanes."""
        handled = 0
        while reply := await self._read(lanes):
            handled += await self._handle(reply)
        return handled


class Reclaimer:
    def __init__(self, loop: ConsumeLoop, lanes: Sequence[Lane], consumer: str, batch_size: int,
                 min_idle_ms: int) -> None:
        self.loop = loop
        self.lanes = list(lanes)  # most urgent first: reclaimed urgent entries are handled first
        self.consumer = consumer
        self.batch_size = batch_size
        self.min_idle_ms = min_idle_ms

    def worker(self) -> Periodic:
        return Periodic(f"{self.loop.group}-reclaimer", self.reclaim_once,
                        interval_s=min(self.min_idle_ms / 2, 1000) / 1000)

    async def reclaim_once(self) -> bool:
        """Take over and handle idle entries of every lane; True when there may be more."""
        redis, group = self.loop.redis, self.loop.group
        async with redis.pipeline(transaction=False) as pipe:
            for lane in self.lanes:
                pipe.xpending_range(lane.stream, group, min="-", max="+", count=self.batch_size,
                                    idle=self.min_idle_ms)
            replies = await pipe.execute(raise_on_error=False)
        wanted: list[tuple[Lane, dict[bytes, int]]] = []
        for lane, reply in zip(self.lanes, replies, strict=True):
            if isinstance(reply, Exception) or not reply:
                continue
            idle = {p["message_id"]: int(p["times_delivered"]) for p in reply
                    if not self.loop.holds(lane.stream, p["message_id"])}
            if idle:
                wanted.append((lane, idle))
        if not wanted:
            return False
        async with redis.pipeline(transaction=False) as pipe:
            for lane, idle in wanted:
                pipe.xclaim(lane.stream, group, self.consumer, self.min_idle_ms, list(idle))
            claims = await pipe.execute(raise_on_error=False)
        more = False
        for (lane, idle), claimed in zip(wanted, claims, strict=True):
            if isinstance(claimed, Exception):
                log.warning("could not claim idle entries", stream=lane.stream, error=str(claimed))
                continue
            more = more or len(idle) >= self.batch_size
            live = [(entry_id, fields) for entry_id, fields in claimed if fields]
            gone = [entry_id for entry_id, fields in claimed if not fields]
            if gone:  # trimmed away while pending: nothing left to handle
                await redis.xack(lane.stream, group, *gone)
            if not live:
                continue
            self.loop.hold(lane.stream, [entry_id for entry_id, _ in live])
            self.loop.metrics.stream(lane.stream, group).reclaimed.inc(len(live))
            log.info("reclaimed idle entries", stream=lane.stream, count=len(live))
            # XCLAIM counted this delivery: one more than the pending list said.
            await self.loop.process(lane.stream, live, lane.sub,
                                    deliveries=[idle[entry_id] + 1 for entry_id, _ in live])
        return more
