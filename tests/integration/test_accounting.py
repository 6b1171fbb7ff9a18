"""The one account of where reports ended (tipline.accounting), read from real streams: a doubled
case, a lost report and a report published without being accepted are each found."""

import json

import pytest
import redis

from tipline import accounting

pytestmark = pytest.mark.integration


def put(r: redis.Redis, stream: str, **event) -> None:
    r.xadd(stream, {b"data": json.dumps(event).encode()})


@pytest.fixture
def direct(redis_url, topology):
    r = redis.Redis.from_url(redis_url)
    yield r
    for key in r.scan_iter(match=f"{topology.prefix}:*"):
        r.unlink(key)
    r.close()


def test_the_account_finds_doubled_lost_and_unaccepted_reports(direct, topology):
    t = topology
    for report_id in (1, 2, 3, 4, 5):
        put(direct, t.submitted["standard"], report_id=report_id)
        put(direct, t.triaged["p2"], report_id=report_id,
            bundle={"role": "member"} if report_id == 4 else None)
    put(direct, t.routed, type="ReportRouted", report_id=1)
    put(direct, t.routed, type="CaseRenotified", report_id=1)  # not a placement
    put(direct, t.unassigned, report_id=2)
    put(direct, t.agency_inbox("icac-oh"), report_id=1, agency_id="icac-oh", why="jurisdiction")
    put(direct, t.agency_inbox("icac-oh"), report_id=1, agency_id="icac-oh", why="renotification")
    put(direct, t.agency_inbox("federal-mock-fbi"), report_id=2, agency_id="federal-mock-fbi",
        why="unassigned_offer")
    put(direct, t.agency_inbox("federal-mock-fbi"), report_id=2, agency_id="federal-mock-fbi",
        why="unassigned_offer")  # the same case twice
    direct.xadd(t.triaged["p2"], {b"data": b"\xff poison"})  # skipped, not counted

    found = accounting.account(direct, t, ["icac-oh", "federal-mock-fbi"])
    assert found.placed == {1, 2, 4}
    assert found.summary() == {"reports_placed": 3, "cases_in_inboxes": 4, "routed": 1,
                               "unassigned": 1, "bundled": 1, "doubled": 1}
    problems = found.problems(accepted={1, 2, 3, 4, 6})
    assert problems == {
        "cases in an inbox twice": {(2, "federal-mock-fbi", "unassigned_offer"): 2},
        "accepted but never submitted": [6], "submitted but not accepted": [5],
        "not placed": [3, 6]}


def test_nothing_is_wrong_with_an_account_of_reports_each_placed_once(direct, topology):
    t = topology
    put(direct, t.submitted["escalated"], report_id=7)
    put(direct, t.triaged["p1"], report_id=7)
    put(direct, t.routed, type="ReportRouted", report_id=7)
    put(direct, t.agency_inbox("icac-oh"), report_id=7, agency_id="icac-oh", why="jurisdiction")
    found = accounting.account(direct, t, ["icac-oh"])
    assert found.problems(accepted={7}) == {} and found.doubled() == {}


def test_settling_waits_for_the_ledger_and_says_what_is_left(direct, topology):
    t = topology
    direct.xgroup_create(t.routed, "tracker", id="0", mkstream=True)
    put(direct, t.routed, type="ReportRouted", report_id=1)
    placed, left = accounting.settle(direct, t, {"tracker": [t.routed]}, reports=1, timeout=0.3)
    assert placed == 0 and left == {f"{t.routed} (tracker)": (1, 0)}
    direct.xreadgroup("tracker", "c", {t.routed: ">"})
    direct.xack(t.routed, "tracker", *[i for i, _ in direct.xrange(t.routed)])
    direct.hset(t.gap_totals, "routed", 1)
    assert accounting.settle(direct, t, {"tracker": [t.routed]}, reports=1, timeout=5) == (1, {})
