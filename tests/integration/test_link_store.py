"""Linking on a real Redis: the store finds the groups the in-memory reference finds, in any
arrival order; a report added again adds nothing; no identifier is stored in clear."""

import itertools
import random

import pytest

from services.router.link_store import LinkStore
from shared.linking import group_reports, link_clues
from shared.schemas.events import LinkClues
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
            store = LinkStore(redis_client, Topology(f"{topology.prefix}:{trial}:{order}"), WINDOW)
            for report_id, r in shuffled:
                await store.add(report_id, link_clues(r, KEY))
            assert await store.groups() == expected, (trial, order)
            compared += bool(expected)
    assert compared > 20  # most trials had groups to compare


async def test_a_report_added_again_adds_no_link(redis_client, topology):
    store = LinkStore(redis_client, topology, WINDOW)
    a = report(account=("Synthetic Chat", "u1"), email={"value": "x@example.com", "verified": True})
    b = report(account=("synthetic chat", "U1"), email={"value": "X@example.com", "verified": True})
    assert (await store.add(1, link_clues(a, KEY))).links == []
    first = await store.add(2, link_clues(b, KEY))
    assert [(x.a, x.b, x.basis) for x in first.links] == [(1, 2, "email"), (1, 2, "esp-account")]
    assert first.group == 1
    edges = await redis_client.hgetall(topology.link_edges)
    again = await store.add(2, link_clues(b, KEY))
    assert again == first and await redis_client.hgetall(topology.link_edges) == edges
    assert edges == {b"1|2": b"email,esp-account"}


async def test_no_identifier_is_stored_in_clear(redis_client, topology):
    store = LinkStore(redis_client, topology, WINDOW)
    secrets = ["offender@example.com", "synthetic chat", "u1", "203.0.113.9"]
    r = report(account=("Synthetic Chat", "u1"),
               email={"value": "offender@example.com", "verified": True},
               ips=(("203.0.113.9", "2026-02-01T10:00:00Z", False),))
    await store.add(1, link_clues(r, KEY))
    await store.add(2, link_clues(r, KEY))
    stored = b""
    async for key in redis_client.scan_iter(match=f"{topology.prefix}:*"):
        stored += key + b" " + repr(await redis_client.dump(key)).encode() + b"\n"
    assert b"link" in stored
    assert not [s for s in secrets if s.encode() in stored.lower()], stored[:500]


async def test_groups_are_counted_and_list_their_holders(redis_client, topology):
    store = LinkStore(redis_client, topology, WINDOW)
    email = {"value": "x@example.com", "verified": True}
    await store.add(1, link_clues(report(email=email), KEY), own="icac-ca")
    await store.add(5, link_clues(report(account=("svc", "a")), KEY), own="icac-tx")
    assert await store.stats() == {"groups": 0, "linked_reports": 0}
    third = await store.add(3, link_clues(report(email=email, account=("svc", "a")), KEY))
    # 3 joins 1's group and 5's: one group of three, named by its smallest id; with no agency
    # of its own it goes to the holder of the group's earliest report
    assert third.group == 1 and third.size == 3
    assert third.holders == {"icac-ca": 1, "icac-tx": 5} and third.target == "icac-ca"
    assert third.holder_of(1) == "icac-ca" and third.holder_of(5) == "icac-tx"
    assert await store.stats() == {"groups": 1, "linked_reports": 3}
    await store.add(9, link_clues(report(account=("other", "z")), KEY))
    await store.add(8, link_clues(report(account=("other", "z")), KEY))
    assert await store.stats() == {"groups": 2, "linked_reports": 5}
    again = await store.add(3, link_clues(report(email=email, account=("svc", "a")), KEY))
    assert again == third and await store.stats() == {"groups": 2, "linked_reports": 5}


async def test_a_much_shared_identifier_costs_one_link_per_report(redis_client, topology):
    store = LinkStore(redis_client, topology, WINDOW)
    email = {"value": "shared@example.com", "verified": True}
    found = [await store.add(i, link_clues(report(email=email), KEY)) for i in range(40, 0, -1)]
    assert max(len(f.links) for f in found) == 1  # to the identifier's first holder only
    assert await store.groups() == {frozenset(range(1, 41))}
    assert await store.stats() == {"groups": 1, "linked_reports": 40}
    assert found[-1].group == 1 and found[-1].size == 40


async def test_the_store_records_the_target_the_routers_rule_takes(redis_client, topology):
    """The script's twin of the router's rule, against a reference kept here: the groups from
    the in-memory rules, each report's target its own agency, else the agency holding its
    group's earliest report."""
    rng = random.Random(7)
    agencies = ["icac-oh", "icac-ga", "icac-fl-south", None]
    compared = 0
    for trial in range(30):
        store = LinkStore(redis_client, Topology(f"{topology.prefix}:t{trial}"), WINDOW)
        added: list = []
        targets: dict[int, str] = {}
        for report_id, r in random_reports(rng):
            own = rng.choice(agencies)
            linked = await store.add(report_id, link_clues(r, KEY), own=own)
            added.append((report_id, r))
            group = next((g for g in group_reports(added, WINDOW) if report_id in g), {report_id})
            held = sorted((other, targets[other]) for other in group if other in targets)
            expected = own or (held[0][1] if held else None)
            assert linked.target == expected, (trial, report_id, own, held, linked)
            if expected:
                targets[report_id] = expected
            compared += own is None and bool(held)
    assert compared > 5  # reports sent to their group's holder were among them


async def test_adding_a_report_again_answers_as_the_first_time(redis_client, topology):
    """A redelivery after another report joined the group: the same answer, no new holder."""
    store = LinkStore(redis_client, topology, WINDOW)
    account = ("svc", "a")
    first = await store.add(1, link_clues(report(account=account), KEY), own="icac-oh")
    joined = await store.add(2, link_clues(report(account=account), KEY), own="icac-ga")
    assert joined.holders == {"icac-oh": 1}
    assert await store.add(1, link_clues(report(account=account), KEY), own="icac-oh") == first
    assert first.holders == {} and first.size == 1


async def test_a_report_cited_before_it_arrives_finds_its_group_and_its_holder(
        redis_client, topology):
    store = LinkStore(redis_client, topology, WINDOW)
    citing = await store.add(101, link_clues(report(prior=(100,)), KEY), own="icac-ga")
    assert citing.group == 100 and citing.size == 2
    cited = await store.add(100, link_clues(report(), KEY), own="icac-oh")
    assert (cited.group, cited.size, cited.holders) == (100, 2, {"icac-ga": 101})


async def test_ip_sightings_give_the_reference_groups_in_every_order(redis_client, topology):
    """Three reports seen at one address at 10:00, one at 11:30, one at 10:40 (an hour's window):
    one group, whatever the order (the nearest sighting on each side is linked)."""
    times = ["10:00", "10:00", "10:00", "11:30", "10:40"]
    reports = [(i + 1, report(ips=(("203.0.113.7", f"2026-02-01T{t}:00Z", False),)))
               for i, t in enumerate(times)]
    assert group_reports(reports, WINDOW) == {frozenset(range(1, 6))}
    for n, order in enumerate(itertools.permutations(reports)):
        store = LinkStore(redis_client, Topology(f"{topology.prefix}:ip{n}"), WINDOW)
        for report_id, r in order:
            await store.add(report_id, link_clues(r, KEY))
        assert await store.groups() == {frozenset(range(1, 6))}, [i for i, _ in order]


async def test_report_ids_of_fifteen_digits_survive_the_script(redis_client, topology):
    store = LinkStore(redis_client, topology, WINDOW)
    big = 999_999_999_999_998
    await store.add(big, link_clues(report(account=("svc", "b")), KEY), own="icac-oh")
    later = await store.add(big + 1, link_clues(report(account=("svc", "b"), prior=(big,)), KEY))
    assert later.group == big and later.holders == {"icac-oh": big}
    assert [(x.a, x.b) for x in later.links] == [(big, big + 1), (big, big + 1)]


async def test_a_batch_answers_as_its_reports_added_one_by_one(redis_client, topology):
    """The script reads and writes its hashes through a cache for the batch: batches of random
    reports (some repeated, as a redelivery would) give each report the answer, and the store
    the groups and holders, that adding them one call each gives."""
    rng = random.Random(31)
    agencies = ["icac-oh", "icac-ga", None]
    for trial in range(20):
        reports = [(i, link_clues(r, KEY), rng.choice(agencies)) for i, r in random_reports(rng)]
        reports += rng.sample(reports, rng.randint(0, 2))
        one = LinkStore(redis_client, Topology(f"{topology.prefix}:one{trial}"), WINDOW)
        batch = LinkStore(redis_client, Topology(f"{topology.prefix}:batch{trial}"), WINDOW)
        expected = [await one.add(*r) for r in reports]
        cut = rng.randint(1, len(reports))
        answers = await batch.add_all(reports[:cut]) + await batch.add_all(reports[cut:])
        assert answers == expected, trial
        assert await batch.groups() == await one.groups(), trial
        for key in ("link_held", "link_first", "link_parents", "link_placed"):
            assert (await redis_client.hgetall(getattr(batch.keys, key))
                    == await redis_client.hgetall(getattr(one.keys, key))), (trial, key)


async def test_groups_stored_before_roots_were_marked_are_marked_once(redis_client, topology):
    """A group's root is its own parent; a group stored without that mark gets it before the
    first batch, so a report joining the group counts it as a group, not as a single report."""
    store = LinkStore(redis_client, topology, WINDOW)
    account = ("svc", "a")
    await store.add(1, link_clues(report(account=account), KEY))
    await store.add(2, link_clues(report(account=account), KEY))
    assert await redis_client.hget(topology.link_parents, "1") == b"1"
    await redis_client.hdel(topology.link_parents, "1")  # as stored before the mark
    await redis_client.hdel(topology.link_stats, "roots_marked")
    later = LinkStore(redis_client, topology, WINDOW)
    joined = await later.add(3, link_clues(report(account=account), KEY))
    assert (joined.group, joined.size) == (1, 3)
    assert await later.stats() == {"groups": 1, "linked_reports": 3}
    assert await later.groups() == {frozenset({1, 2, 3})}


async def test_a_batch_that_fails_half_way_counts_nothing_twice_when_added_again(
        redis_client, topology):
    """Redis keeps what a script wrote before it failed: the group counts are written at the end
    with the reports' answers, so adding the batch again counts its group once."""
    from redis.exceptions import ResponseError

    from shared.schemas.events import KeyedSighting

    store = LinkStore(redis_client, topology, WINDOW)
    account = ("svc", "a")
    first, second = (link_clues(report(account=account), KEY) for _ in range(2))
    broken = LinkClues(sightings=[KeyedSighting(hash="0" * 32, at=float("nan"))])  # fails in Lua
    with pytest.raises(ResponseError):
        await store.add_all([(1, first, None), (2, second, None), (3, broken, None)])
    await store.add_all([(1, first, None), (2, second, None)])
    assert await store.stats() == {"groups": 1, "linked_reports": 2}
    assert await store.groups() == {frozenset({1, 2})}
