"""The ledger's commit chunk on a real Redis: a batch of steps recorded in one script call (its
ZADD, ZREM and HDEL of a key merged while they come in a row) leaves every key exactly as
recording the same steps one call each does, whatever the steps and their order."""

import random
from typing import Any

import pytest

from services.tracker.domain import Step
from services.tracker.ledger import Ledger
from services.tracker.recording import Recording
from shared.topology import Topology

pytestmark = pytest.mark.integration

HOUR = 10.0
AGENCIES = ("icac-oh", "icac-ga", "federal-mock-fbi")
AT = 1_800_000_000.0


def step(rng: random.Random, kind: str, agency: str) -> Step:
    at = AT + rng.randrange(0, 5000)
    hours = rng.choice((0.5, 3.0, 40.0, 900.0))
    match kind:
        case "handoff":
            return Step("handoff", f"handoff:{agency}", {"priority": rng.randint(1, 3)}, at,
                        ("forwarded",), agency_id=agency, lane="p2", esp="esp-a",
                        deadline=at + rng.randrange(1, 900),
                        preserve_until=rng.choice((None, at + 3650.0)),
                        group_size=rng.randint(1, 4), series=("forwarded",))
        case "breach":
            return Step("breach", f"sla_breach_1:{agency}", {"openHours": hours}, at, ("breached",),
                        agency_id=agency, lane="p2", esp="esp-a", level=1)
        case "acknowledged":
            return Step("acknowledged", f"acknowledged:{agency}", {"afterHours": hours}, at,
                        ("acknowledged",), agency_id=agency, lane="p2", esp="esp-a", hours=hours)
        case _:
            return Step("outcome", f"outcome:{agency}", {"afterHours": hours}, at, ("outcomes",),
                        agency_id=agency, lane="p2", esp="esp-a", hours=hours)


def batch(rng: random.Random) -> list[tuple[int, Step]]:
    """Steps of a few cases in a random order, some of them twice (a redelivered stage)."""
    items = [(rng.randint(1, 6), step(rng, kind, rng.choice(AGENCIES)))
             for _ in range(rng.randint(5, 40))
             for kind in [rng.choice(("handoff", "handoff", "breach", "acknowledged", "outcome"))]]
    return items + rng.sample(items, k=len(items) // 4)


async def dump(redis: Any, prefix: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    async for key in redis.scan_iter(match=f"{prefix}:*"):
        name = key.decode().removeprefix(prefix)
        match (await redis.type(key)).decode():
            case "zset":
                found[name] = await redis.zrange(key, 0, -1, withscores=True)
            case "hash":  # a counter summed to 0 over the batch is not written: read as 0
                found[name] = {f: v for f, v in (await redis.hgetall(key)).items() if v != b"0"}
            case "set":
                found[name] = await redis.smembers(key)
            case other:
                found[name] = other
    return found


async def test_a_batch_in_one_call_leaves_what_one_call_per_step_leaves(redis_client, test_id):
    script = redis_client.register_script("local items = ARGV\n" + Ledger.lua)
    for seed in range(40):
        rng = random.Random(seed)
        items = batch(rng)
        together, apart = f"{test_id}-{seed}-batch", f"{test_id}-{seed}-apart"
        for prefix in (together, apart):
            ledger = Ledger(Recording(Topology(prefix), HOUR, series_ttl_s=600,
                                      at_risk_s=100.0))
            encoded = [ledger.encode(item) for item in items]
            if prefix == together:
                await script(keys=[], args=encoded)
            else:
                for one in encoded:
                    await script(keys=[], args=[one])
        batched, one_by_one = await dump(redis_client, together), await dump(redis_client, apart)
        assert batched == one_by_one, f"seed {seed}"
        assert any(isinstance(v, list) and v for v in batched.values())  # cases were opened


@pytest.mark.parametrize("together", [True, False], ids=["one batch", "a call each"])
async def test_a_case_acknowledged_before_its_handoff_is_recorded_is_not_opened(
        redis_client, test_id, together):
    """The handoff's condition (not acknowledged yet) read from the timeline, in one batch with the
    acknowledgement, and the stages recorded once: the case is acknowledged, not open, not dark."""
    script = redis_client.register_script("local items = ARGV\n" + Ledger.lua)
    topology = Topology(f"{test_id}-{together}")
    ledger = Ledger(Recording(topology, HOUR, series_ttl_s=600, at_risk_s=100.0))
    rng = random.Random(1)
    ack, handoff = step(rng, "acknowledged", "icac-oh"), step(rng, "handoff", "icac-oh")
    breach = step(rng, "breach", "icac-oh")
    encoded = [ledger.encode((7, s)) for s in (ack, handoff, breach, ack, handoff)]
    for chunk in ([encoded] if together else [[one] for one in encoded]):
        await script(keys=[], args=chunk)
    assert await redis_client.zrange(topology.gap_open, 0, -1) == []
    assert await redis_client.zrange(topology.agency_open("icac-oh"), 0, -1) == []
    assert await redis_client.zrange(topology.gap_dark, 0, -1) == []
    assert await redis_client.zrange(topology.agency_acknowledged("icac-oh"), 0, -1) == [b"7"]
    assert set(await redis_client.hkeys(topology.timeline_key(7))) == {
        b"acknowledged:icac-oh", b"handoff:icac-oh", b"sla_breach_1:icac-oh"}
    totals = await redis_client.hgetall(topology.gap_totals)
    assert (totals[b"forwarded"], totals[b"acknowledged"]) == (b"1", b"1")


async def test_the_tests_search_of_redis_reads_inside_a_deflated_stage(redis_client, redis_url,
                                                                       test_id):
    """keys_holding, which the tests use to show no uploaded byte or personal value reached
    Redis, finds a value inside a timeline stage as stored (deflated), not only in clear."""
    import redis as sync_redis

    from tests.helpers import keys_holding

    script = redis_client.register_script("local items = ARGV\n" + Ledger.lua)
    topology = Topology(f"{test_id}-search")
    ledger = Ledger(Recording(topology, HOUR, series_ttl_s=600, at_risk_s=100.0))
    marker = "marker-3f9a1c-only-in-this-stage"
    step = Step("outcome", "outcome:icac-oh", {"afterHours": 2.0, "outcome": marker}, AT,
                ("outcomes",), agency_id="icac-oh", lane="p2", esp="esp-a", hours=2.0)
    await script(keys=[], args=[ledger.encode((9, step))])
    stored = await redis_client.hget(topology.timeline_key(9), "outcome:icac-oh")
    assert marker.encode() not in stored  # deflated: a search of the raw bytes would miss it
    direct = sync_redis.Redis.from_url(redis_url)
    try:
        assert topology.timeline_key(9).encode() in keys_holding(direct, marker.encode())
    finally:
        direct.close()
