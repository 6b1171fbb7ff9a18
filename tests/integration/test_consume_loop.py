"""The shared consume loop against a real Redis: ack with output, dead letters, redelivery, exactly
once effects under twin deliveries, per-entry isolation of a failing prepare step."""

import json

import pytest

from shared.effects import Effects
from shared.reading import Lane, LaneReader, Reclaimer
from shared.service import StreamService
from tests import pings
from tests.helpers import eventually, has_entries, on_one_node_and_a_cluster, running, stream_events
from tests.pings import Ping, collecting, contract, doubler, ping

pytestmark = pytest.mark.integration
redis_url = on_one_node_and_a_cluster()  # every test on one node and on a cluster


def service_with(handler, make_settings, topology, prepare=None, **settings) -> StreamService:
    return pings.service_with(handler, make_settings(**settings), topology, prepare)


async def test_output_is_published_and_input_acknowledged_together(make_settings, topology,
                                                                   redis_client):
    service = service_with(doubler(topology), make_settings, topology)
    async with running(service.app()):
        for n in range(1, 251):
            await redis_client.xadd(topology.key("in"), ping(n))
        await eventually(lambda: has_entries(redis_client, topology.key("out"), 250), what="250 outputs")
        pending = await redis_client.xpending(topology.key("in"), service.name)
    outputs = await stream_events(redis_client, topology.key("out"))
    assert sorted(e["n"] for e in outputs) == [2 * n for n in range(1, 251)]
    assert pending["pending"] == 0


async def test_malformed_entries_are_dead_lettered_and_the_consumer_goes_on(
    make_settings, topology, redis_client
):
    seen: list[int] = []
    service = service_with(collecting(seen), make_settings, topology)
    stream = topology.key("in")
    async with running(service.app()):
        await redis_client.xadd(stream, {b"data": b"{not json"})
        await redis_client.xadd(stream, {b"data": json.dumps({"event_id": "x", "report_id": 1,
                                                             "n": "many"}).encode()})
        await redis_client.xadd(stream, {b"other": b"field"})
        await redis_client.xadd(stream, ping(7))
        await eventually(lambda: has_entries(redis_client, topology.dead_letters, 3),
                         what="3 dead letters")
        await eventually(lambda: _async(seen == [7]), what="the valid entry handled")
        pending = await redis_client.xpending(stream, service.name)
    letters = await stream_events(redis_client, topology.dead_letters)
    assert [letter["source_stream"] for letter in letters] == [stream] * 3
    assert "json_invalid" in letters[0]["reason"] or "Invalid JSON" in letters[0]["reason"]
    assert "n: Input should be a valid integer" in letters[1]["reason"]
    assert "many" not in letters[1]["reason"]  # reasons never quote the refused values
    assert json.loads(letters[2]["payload"]) == {"other": "field"}
    assert all(letter["group"] == service.name for letter in letters)
    assert pending["pending"] == 0


async def test_a_failing_handler_is_redelivered_then_dead_lettered(make_settings, topology,
                                                                   redis_client):
    attempts: list[int] = []

    def flaky(event: Ping, out: Effects) -> None:
        attempts.append(event.n)
        if event.n == 13:
            raise RuntimeError("thirteen is unlucky")

    service = service_with(flaky, make_settings, topology)
    async with running(service.app()):
        await redis_client.xadd(topology.key("in"), ping(13))
        await redis_client.xadd(topology.key("in"), ping(14))
        await eventually(lambda: has_entries(redis_client, topology.dead_letters, 1), timeout=15,
                         what="the failing entry dead-lettered")
        pending = await redis_client.xpending(topology.key("in"), service.name)
    letters = await stream_events(redis_client, topology.dead_letters)
    assert attempts.count(13) == 3  # max_deliveries
    assert attempts.count(14) == 1
    assert letters[0]["deliveries"] == 3
    assert "RuntimeError: thirteen is unlucky" in letters[0]["reason"]
    assert pending["pending"] == 0


async def test_entries_left_by_a_crashed_consumer_are_taken_over(make_settings, topology,
                                                                 redis_client):
    stream = topology.key("in")
    group = contract(topology).service
    await redis_client.xgroup_create(stream, group, id="0", mkstream=True)
    await redis_client.xadd(stream, ping(5))
    # A consumer that read the entry and died before acknowledging it.
    await redis_client.xreadgroup(group, "crashed-consumer", {stream: ">"}, count=10)
    seen: list[int] = []
    service = service_with(collecting(seen), make_settings, topology)
    async with running(service.app()):
        await eventually(lambda: _async(seen == [5]), timeout=10, what="the orphaned entry handled")
        await eventually(lambda: _pending_is(redis_client, stream, group, 0), what="ack")


async def test_twin_deliveries_of_one_entry_write_its_effects_once(make_settings, topology,
                                                                   redis_client):
    """Two consumers handle the same entry (one took it over from the other, which then woke):
    whichever commits first writes the output; the other writes nothing."""
    stream = topology.key("in")
    service = service_with(doubler(topology), make_settings, topology)
    group = service.name
    await redis_client.xgroup_create(stream, group, id="0", mkstream=True)
    for n in range(1, 6):
        await redis_client.xadd(stream, ping(n))
    [(_, entries)] = await redis_client.xreadgroup(group, "first", {stream: ">"}, count=10)
    sub = service.lanes[0].sub
    await service.loop.process(stream, entries, sub)
    await service.loop.process(stream, entries, sub)  # the twin delivery, after the commit
    outputs = await stream_events(redis_client, topology.key("out"))
    assert sorted(e["n"] for e in outputs) == [2, 4, 6, 8, 10]
    # the same event published again in a new entry writes nothing either (its id is remembered)
    await redis_client.xadd(stream, ping(1))
    [(_, again)] = await redis_client.xreadgroup(group, "first", {stream: ">"}, count=10)
    assert await service.loop.process(stream, again, sub) == 0
    assert await redis_client.xlen(topology.key("out")) == 5
    assert (await redis_client.xpending(stream, group))["pending"] == 0
    text = (await service.metrics.exposition()).decode()
    assert f'tipline_entries_duplicate_total{{group="{group}",stream="{stream}"}} 6.0' in text


async def test_a_failing_prepare_step_isolates_the_entry_that_makes_it_fail(
    make_settings, topology, redis_client
):
    """One entry makes the batch's lookup raise: the rest of its batch goes on, and that entry is
    dead-lettered after the last delivery, not redelivered for ever."""
    calls: list[list[int]] = []

    async def prepare(events: list[Ping]) -> dict[str, int]:
        calls.append([e.n for e in events])
        if any(e.n == 3 for e in events):
            raise ValueError("cannot look up three")
        return {e.event_id: e.n * 10 for e in events}

    def handle(event: Ping, out: Effects) -> None:
        out.publish(topology.key("out"), Ping(event_id=f"p{event.event_id}", report_id=event.n,
                                              n=out.prepared))

    service = service_with(handle, make_settings, topology, prepare=prepare)
    async with redis_client.pipeline(transaction=False) as pipe:
        for n in range(1, 6):
            pipe.xadd(topology.key("in"), ping(n))
        await pipe.execute()
    async with running(service.app()):
        await eventually(lambda: has_entries(redis_client, topology.dead_letters, 1), timeout=15,
                         what="the entry that breaks prepare dead-lettered")
        pending = await redis_client.xpending(topology.key("in"), service.name)
    outputs = await stream_events(redis_client, topology.key("out"))
    [letter] = await stream_events(redis_client, topology.dead_letters)
    assert sorted(e["n"] for e in outputs) == [10, 20, 40, 50]
    assert "ValueError: cannot look up three" in letter["reason"] and letter["deliveries"] == 3
    assert pending["pending"] == 0


async def test_the_reclaimer_leaves_alone_what_its_own_process_holds(make_settings, topology,
                                                                     redis_client):
    """An entry read by the lane reader and waiting in hand (behind an urgent lane, say) longer
    than the reclaim time is not taken over by the same process's reclaimer."""
    stream = topology.key("in")
    handled: list[int] = []
    service = service_with(collecting(handled), make_settings, topology,
                           reclaim_idle_ms=100)
    group = service.name
    await redis_client.xgroup_create(stream, group, id="0", mkstream=True)
    await redis_client.xadd(stream, ping(1))
    lane = Lane(stream, service.lanes[0].sub)
    reader = LaneReader(service.loop, [lane], "me", batch_size=10, block_ms=10)
    reply = await reader._read([lane])  # read and held, not yet handled

    async def idle_past_the_reclaim_time() -> bool:
        [pending] = await redis_client.xpending_range(stream, group, "-", "+", 1)
        return pending["time_since_delivered"] > 150
    await eventually(idle_past_the_reclaim_time, what="the entry idle past the reclaim time")
    reclaimer = Reclaimer(service.loop, [lane], "me", batch_size=10, min_idle_ms=100)
    await reclaimer.reclaim_once()
    assert handled == []
    await reader._handle(reply)
    assert handled == [1]
    # released once handled: a failure now would be reclaimed as usual
    assert not service.loop.holds(stream, reply[0][1][0][0])



async def _async(value: bool) -> bool:
    return value


async def _pending_is(redis, stream: str, group: str, n: int) -> bool:
    return (await redis.xpending(stream, group))["pending"] == n


async def test_a_read_cut_short_by_redis_holds_nothing_back(make_settings, topology, redis_client):
    """Redis fails at the commit of the first lane's chunk: every entry of that read (the other
    lane's too) is released, so the reclaimer can take them over once they are idle."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    handled: list[int] = []
    service = service_with(collecting(handled), make_settings, topology)
    sub = service.lanes[0].sub
    lanes = [Lane(topology.key("urgent"), sub), Lane(topology.key("in"), sub)]
    for lane in lanes:
        await redis_client.xgroup_create(lane.stream, service.name, id="0", mkstream=True)
        for n in range(3):
            await redis_client.xadd(lane.stream, ping(n))

    async def redis_away(*_args, **_kwargs):
        raise RedisConnectionError("Redis went away")

    service.loop._commit = redis_away  # type: ignore[method-assign]
    reader = LaneReader(service.loop, lanes, "me", batch_size=10, block_ms=10)
    with pytest.raises(RedisConnectionError):
        await reader.read_once()
    assert not any(service.loop.held.values())
    assert (await redis_client.xpending(topology.key("in"), service.name))["pending"] == 3


async def test_a_batch_with_one_poison_entry_dead_letters_it_alone_and_commits_the_rest_once(
        make_settings, topology, redis_client):
    """One commit for the whole batch: the poison entry becomes one dead letter, the others' outputs
    are written once, the same event twice in the batch once, and committing the batch again
    (a twin) writes nothing."""
    stream = topology.key("in")
    service = service_with(doubler(topology), make_settings, topology)
    group = service.name
    await redis_client.xgroup_create(stream, group, id="0", mkstream=True)
    for n in (1, 2):
        await redis_client.xadd(stream, ping(n))
    await redis_client.xadd(stream, {b"data": b"{poison"})
    for n in (3, 4):
        await redis_client.xadd(stream, ping(n))
    await redis_client.xadd(stream, ping(4))  # the same event again, in the same batch
    [(_, entries)] = await redis_client.xreadgroup(group, "first", {stream: ">"}, count=10)
    assert len(entries) == 6
    sub = service.lanes[0].sub
    assert await service.loop.process(stream, entries, sub) == 5  # 4 outputs and 1 dead letter
    assert await service.loop.process(stream, entries, sub) == 0  # the twin: nothing
    outputs = await stream_events(redis_client, topology.key("out"))
    assert sorted(e["n"] for e in outputs) == [2, 4, 6, 8]
    letters = await stream_events(redis_client, topology.dead_letters)
    assert [json.loads(letter["payload"]) for letter in letters] == [{"data": "{poison"}]
    assert (await redis_client.xpending(stream, group))["pending"] == 0


async def test_a_reader_lingers_after_a_short_read_but_not_for_an_urgent_entry(
        make_settings, topology, redis_client):
    """After a read that found less than a batch, the reader lets entries gather (linger_ms)
    before reading again; the urgent lanes are read meanwhile and handled at once."""
    import asyncio

    handled: list[int] = []
    service = service_with(collecting(handled), make_settings, topology)
    sub = service.lanes[0].sub
    urgent, other = Lane(topology.key("urgent"), sub), Lane(topology.key("in"), sub)
    for lane in (urgent, other):
        await redis_client.xgroup_create(lane.stream, service.name, id="0", mkstream=True)
    reader = LaneReader(service.loop, [urgent, other], "me", batch_size=10, block_ms=10,
                        linger_ms=3_000, urgent=[urgent])
    periodic = reader.worker()
    worker = asyncio.create_task(periodic.run())
    try:
        await redis_client.xadd(other.stream, ping(1))
        await eventually(lambda: _async(handled == [1]), what="the first entry handled")
        # the read found less than a batch: the reader lingers, so a second entry waits ...
        await redis_client.xadd(other.stream, ping(2))
        # ... while an urgent one is handled as soon as it comes
        await redis_client.xadd(urgent.stream, ping(3))
        await eventually(lambda: _async(handled == [1, 3]), what="the urgent entry handled")
        assert (await redis_client.xinfo_groups(other.stream))[0]["lag"] == 1
    finally:
        periodic.stop()
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)


@pytest.mark.parametrize("service, urgent", [
    ("triage", lambda t: [t.submitted["escalated"]]),
    ("router", lambda t: [t.sla_breaches, t.triaged["p1"]]),
    ("tracker", lambda t: [t.submitted["escalated"], t.triaged["p1"], t.sla_breaches]),
])
def test_the_readers_linger_over_every_lane_but_the_urgent_ones(service, urgent, make_settings,
                                                               topology):
    from importlib import import_module

    app, config = (import_module(f"services.{service}.{m}") for m in ("app", "config"))
    settings = make_settings(getattr(config, f"{service.capitalize()}Settings"))
    wired = app.bootstrap(settings)
    reader = getattr(wired, "service", wired).reader()
    assert [lane.stream for lane in reader.urgent] == urgent(topology)
    assert len(reader.lanes) > len(reader.urgent)
