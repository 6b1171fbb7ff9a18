"""The shared consume loop against a real Redis: ack with output, dead letters, redelivery."""

import json

import pytest
from pydantic import BaseModel, ConfigDict

from shared import topology
from shared.consumer import Outbox
from shared.service import StreamService
from shared.settings import TiplineSettings
from tests.helpers import eventually, running, stream_events

pytestmark = pytest.mark.integration


class Ping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str
    report_id: int
    n: int


def service_with(handler, test_id: str) -> StreamService:
    service = StreamService(f"loop-test-{test_id}", TiplineSettings())
    service.consume(f"in-{test_id}", Ping, handler)
    return service


def ping(n: int) -> dict[bytes, bytes]:
    return {b"data": json.dumps({"event_id": f"e{n}", "report_id": n, "n": n}).encode()}


async def test_output_is_published_and_input_acknowledged_together(fast_env, redis_client, test_id):
    def double(event: Ping, out: Outbox) -> None:
        out.publish(f"out-{test_id}", Ping(event_id=f"d{event.n}", report_id=event.report_id,
                                           n=event.n * 2))

    service = service_with(double, test_id)
    async with running(service.app()):
        for n in range(1, 251):
            await redis_client.xadd(f"in-{test_id}", ping(n))
        await eventually(lambda: _xlen(redis_client, f"out-{test_id}", 250), what="250 outputs")
        pending = await redis_client.xpending(f"in-{test_id}", service.name)
    outputs = await stream_events(redis_client, f"out-{test_id}")
    assert sorted(e["n"] for e in outputs) == [2 * n for n in range(1, 251)]
    assert pending["pending"] == 0


async def test_malformed_entries_are_dead_lettered_and_the_consumer_goes_on(
    fast_env, redis_client, test_id
):
    seen: list[int] = []
    service = service_with(lambda event, out: seen.append(event.n), test_id)
    stream = f"in-{test_id}"
    async with running(service.app()):
        await redis_client.xadd(stream, {b"data": b"{not json"})
        await redis_client.xadd(stream, {b"data": json.dumps({"event_id": "x", "report_id": 1,
                                                             "n": "many"}).encode()})
        await redis_client.xadd(stream, {b"other": b"field"})
        await redis_client.xadd(stream, ping(7))
        await eventually(lambda: _xlen(redis_client, topology.DEAD_LETTERS, 3), what="3 dead letters")
        await eventually(lambda: _async(seen == [7]), what="the valid entry handled")
        pending = await redis_client.xpending(stream, service.name)
    letters = await stream_events(redis_client, topology.DEAD_LETTERS)
    assert [letter["source_stream"] for letter in letters] == [stream] * 3
    assert "json_invalid" in letters[0]["reason"] or "Invalid JSON" in letters[0]["reason"]
    assert "n: Input should be a valid integer" in letters[1]["reason"]
    assert json.loads(letters[2]["payload"]) == {"other": "field"}
    assert all(letter["group"] == service.name for letter in letters)
    assert pending["pending"] == 0


async def test_a_failing_handler_is_redelivered_then_dead_lettered(fast_env, redis_client, test_id):
    attempts: list[int] = []

    def flaky(event: Ping, out: Outbox) -> None:
        attempts.append(event.n)
        if event.n == 13:
            raise RuntimeError("thirteen is unlucky")

    service = service_with(flaky, test_id)
    async with running(service.app()):
        await redis_client.xadd(f"in-{test_id}", ping(13))
        await redis_client.xadd(f"in-{test_id}", ping(14))
        await eventually(lambda: _xlen(redis_client, topology.DEAD_LETTERS, 1), timeout=15,
                         what="the failing entry dead-lettered")
        pending = await redis_client.xpending(f"in-{test_id}", service.name)
    letters = await stream_events(redis_client, topology.DEAD_LETTERS)
    assert attempts.count(13) == 3  # max_deliveries
    assert attempts.count(14) == 1
    assert letters[0]["deliveries"] == 3
    assert "RuntimeError: thirteen is unlucky" in letters[0]["reason"]
    assert pending["pending"] == 0


async def test_entries_left_by_a_crashed_consumer_are_taken_over(fast_env, redis_client, test_id):
    stream = f"in-{test_id}"
    group = f"loop-test-{test_id}"
    await redis_client.xgroup_create(stream, group, id="0", mkstream=True)
    await redis_client.xadd(stream, ping(5))
    # A consumer that read the entry and died before acknowledging it.
    await redis_client.xreadgroup(group, "crashed-consumer", {stream: ">"}, count=10)
    seen: list[int] = []
    service = service_with(lambda event, out: seen.append(event.n), test_id)
    async with running(service.app()):
        await eventually(lambda: _async(seen == [5]), timeout=10, what="the orphaned entry handled")
        await eventually(lambda: _pending_is(redis_client, stream, group, 0), what="ack")


async def _xlen(redis, stream: str, n: int) -> bool:
    return await redis.xlen(stream) >= n


async def _async(value: bool) -> bool:
    return value


async def _pending_is(redis, stream: str, group: str, n: int) -> bool:
    return (await redis.xpending(stream, group))["pending"] == n
