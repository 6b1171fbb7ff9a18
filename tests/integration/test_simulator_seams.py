"""The two rules the services keep inside Redis (atomic for replicas side by side) and the
simulator keeps in memory give the same answers: which report opened a viral bundle, and when
an agency takes a case up."""

import random

import pytest

from services.agencies.domain import next_turn
from services.agencies.store import AgencyBacklogs
from services.triage.domain import BundleWindow
from services.triage.store import Bundles
from shared.clock import ManualClock
from shared.schemas.events import CaseAssigned

pytestmark = pytest.mark.integration


async def test_a_bundle_is_opened_by_the_same_report_in_redis_and_in_memory(redis_client,
                                                                            topology):
    rng = random.Random(3)
    wanted = [(report_id, tuple(sorted(rng.sample("abcdefgh", rng.randint(1, 3)))))
              for report_id in range(1, 200)]
    in_redis = await Bundles(redis_client, topology, window_s=3600).first_reports(wanted)
    window = BundleWindow(window=3600)
    in_memory = [window.join(report_id, keys, now=0.0) for report_id, keys in wanted]
    assert in_redis == in_memory
    assert len(set(in_memory)) > 1


async def test_a_batch_of_more_keys_than_one_call_takes_opens_the_same_bundles(redis_client,
                                                                              topology):
    """Over a thousand distinct hashes in one batch are sent in several calls, in order: a chain
    of reports each sharing a hash with the one before is still one bundle, opened by the first."""
    rng = random.Random(4)
    wanted = [(report_id, tuple(sorted({f"h{report_id}", f"h{report_id - 1}",
                                        f"x{rng.randint(0, 5000)}"})))
              for report_id in range(1, 1500)]
    in_redis = await Bundles(redis_client, topology, window_s=3600).first_reports(wanted)
    window = BundleWindow(window=3600)
    assert in_redis == [window.join(report_id, keys, now=0.0) for report_id, keys in wanted]
    assert set(in_redis) == {1}


async def test_an_agency_takes_cases_up_at_the_same_times_in_redis_and_in_memory(redis_client,
                                                                               topology):
    clock = ManualClock(at=1_000.0)
    backlogs = AgencyBacklogs(redis_client, topology, record_ttl_s=600, clock=clock)
    rng = random.Random(5)
    busy, expected, got, arrived = 0.0, [], [], []
    for i in range(1, 60):
        clock.advance(rng.choice([0.0, 0.5, 3.0, 20.0]))
        case = CaseAssigned(event_id=f"case-{i}", report_id=i, producer="router", esp="x",
                            agency_id="icac-x", why="jurisdiction", priority=2, lane="p2",
                            jurisdiction="US-CA", incident_type="x")
        turn = (await backlogs.take_turns([(case, 4.0)]))[case.event_id]
        start, busy = next_turn(busy, clock.now(), 4.0)
        expected.append(start)
        got.append(turn.starts_at)
        arrived.append(clock.now())
    assert got == pytest.approx(expected, abs=1e-6)
    assert any(s > t for s, t in zip(got, arrived, strict=True))  # some waited their turn


async def test_a_batch_of_cases_takes_the_turns_one_call_each_would_and_a_redelivery_none(
        redis_client, topology):
    """Batches of cases at several agencies (one case twice in a batch, a batch delivered again):
    each case starts when next_turn says, and a case seen before keeps the turn it took."""
    clock = ManualClock(at=5_000.0)
    backlogs = AgencyBacklogs(redis_client, topology, record_ttl_s=600, clock=clock)
    rng = random.Random(11)
    busy: dict[str, float] = {}
    taken: dict[str, float] = {}
    number = 0
    for _ in range(25):
        clock.advance(rng.choice([0.0, 1.0, 7.0, 400.0]))
        batch = []
        for _ in range(rng.randint(1, 8)):
            number += 1
            agency = rng.choice(["icac-a", "icac-b", "icac-c"])
            batch.append((CaseAssigned(
                event_id=f"case-{number}", report_id=number, producer="router", esp="x",
                agency_id=agency, why="jurisdiction", priority=2, lane="p2",
                jurisdiction="US-CA", incident_type="x"), rng.choice([2.0, 5.0])))
        batch.append(batch[0])  # the same case twice in one batch
        turns = await backlogs.take_turns(batch)
        for case, seconds in batch:
            if case.event_id not in taken:
                start, busy[case.agency_id] = next_turn(busy.get(case.agency_id, 0.0),
                                                        clock.now(), seconds)
                taken[case.event_id] = start
            assert turns[case.event_id].starts_at == pytest.approx(taken[case.event_id], abs=1e-6)
        again = await backlogs.take_turns(batch)  # redelivered: the same turns, nothing moved
        assert again == turns
    assert len(taken) == number and any(start > 5_000.0 for start in taken.values())


async def test_a_case_takes_its_turn_from_its_handoff_not_from_when_it_is_read(redis_client,
                                                                              topology):
    """Cases read together (a batch that gathered, a backlog of the service) were handed over at
    their own times: an idle agency takes each up from its handoff, as the simulator does
    (next_turn from the arrival), and a handoff stamped after now counts from now."""
    from datetime import UTC, datetime

    clock = ManualClock(at=1_000.0)
    backlogs = AgencyBacklogs(redis_client, topology, record_ttl_s=600, clock=clock)

    def case(i: int, handed_at: float) -> CaseAssigned:
        return CaseAssigned(event_id=f"handed-{i}", report_id=i, producer="router", esp="x",
                            agency_id="icac-y", why="jurisdiction", priority=2, lane="p2",
                            jurisdiction="US-CA", incident_type="x",
                            occurred_at=datetime.fromtimestamp(handed_at, UTC))

    cases = [case(1, 990.0), case(2, 991.0), case(3, 999.0), case(4, 1_005.0)]
    turns = await backlogs.take_turns([(c, 4.0) for c in cases])
    busy, expected = 0.0, []
    for handed_at in (990.0, 991.0, 999.0, 1_000.0):  # the last is stamped after now
        start, busy = next_turn(busy, handed_at, 4.0)
        expected.append((start, handed_at))
    got = [x for c in cases for x in (turns[c.event_id].starts_at, turns[c.event_id].received_at)]
    assert got == pytest.approx([x for pair in expected for x in pair])
    assert turns["handed-1"].wait_s == 0 and turns["handed-2"].wait_s == pytest.approx(3.0)
