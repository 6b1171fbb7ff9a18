"""Linking on a real Redis: the store finds the groups the in-memory reference finds, in any
arrival order; a report added again adds nothing; no identifier is stored in clear."""

import random

import pytest

from services.router.link_store import LinkStore
from services.router.linking import group_reports
from shared.topology import Topology
from tests.unit.test_linking import KEY, WINDOW, report

pytestmark = pytest.mark.integration

ACCOUNTS = [None, ("svc", "a"), ("svc", "b"), ("other", "a")]
EMAILS = [None, "x@example.com", "y@example.com"]
IPS = [None, ("203.0.113.1", "2026-02-01T10:00:00Z", False),
       ("203.0.113.1", "2026-02-01T10:40:00Z", False),
       ("203.0.113.1", "2026-02-01T11:30:00Z", False),
       ("203.0.113.1", "2026-02-01T10:10:00Z", True)]


def random_reports(rng: random.Random) -> list:
    n = rng.randint(2, 9)
    made = []
    for report_id in range(1, n + 1):
        email, ip = rng.choice(EMAILS), rng.choice(IPS)
        prior = [p for p in rng.sample(range(1, n + 3), rng.randint(0, 1)) if p != report_id]
        made.append((report_id, report(
            account=rng.choice(ACCOUNTS), email={"value": email, "verified": True} if email
            else None, ips=(ip,) if ip else (), prior=tuple(prior))))
    return made


async def test_the_store_finds_the_reference_groups_in_any_arrival_order(redis_client, topology):
    rng = random.Random(20261201)
    compared = 0
    for trial in range(25):
        reports = random_reports(rng)
        expected = group_reports(reports, WINDOW)
        for order in range(3):
            shuffled = list(reports)
            rng.shuffle(shuffled)
            store = LinkStore(redis_client, Topology(f"{topology.prefix}:{trial}:{order}"), KEY,
                              WINDOW)
            for report_id, r in shuffled:
                await store.add(report_id, r)
            assert await store.groups() == expected, (trial, order)
            compared += bool(expected)
    assert compared > 20  # most trials had groups to compare


async def test_a_report_added_again_adds_no_link(redis_client, topology):
    store = LinkStore(redis_client, topology, KEY, WINDOW)
    a = report(account=("Synthetic Chat", "u1"), email={"value": "x@example.com", "verified": True})
    b = report(account=("synthetic chat", "U1"), email={"value": "X@example.com", "verified": True})
    assert (await store.add(1, a)).links == []
    first = await store.add(2, b)
    assert [(x.a, x.b, x.basis) for x in first.links] == [(1, 2, "email"), (1, 2, "esp-account")]
    assert first.group == 1
    edges = await redis_client.hgetall(topology.link_edges)
    again = await store.add(2, b)
    assert again == first and await redis_client.hgetall(topology.link_edges) == edges
    assert edges == {b"1|2": b"email,esp-account"}


async def test_no_identifier_is_stored_in_clear(redis_client, topology):
    store = LinkStore(redis_client, topology, KEY, WINDOW)
    secrets = ["offender@example.com", "synthetic chat", "u1", "203.0.113.9"]
    r = report(account=("Synthetic Chat", "u1"),
               email={"value": "offender@example.com", "verified": True},
               ips=(("203.0.113.9", "2026-02-01T10:00:00Z", False),))
    await store.add(1, r)
    await store.add(2, r)
    stored = b""
    async for key in redis_client.scan_iter(match=f"{topology.prefix}:*"):
        stored += key + b" " + repr(await redis_client.dump(key)).encode() + b"\n"
    assert b"link" in stored
    assert not [s for s in secrets if s.encode() in stored.lower()], stored[:500]
