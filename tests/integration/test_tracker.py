"""The tracker against a real Redis: timelines, the gap, duplicates counted once, dead letters."""

import pytest

from services.tracker.app import create_app
from services.tracker.config import TrackerSettings
from shared.schemas.events import (
    CaseAcknowledged,
    CaseOutcomeReported,
    Notified,
    ReportRouted,
    ReportUnassigned,
)
from shared.wire import encode
from tests.helpers import eventually, running

pytestmark = pytest.mark.integration


def routed(report_id: int, **extra) -> ReportRouted:
    return ReportRouted(report_id=report_id, producer="test", agency_id="icac-oh",
                        jurisdiction="US-OH", basis="estimatedLocation", confidence=1.0, priority=2,
                        lane="p2", **extra)


def ack(report_id: int, agency: str = "icac-oh", hours: float = 5.0) -> CaseAcknowledged:
    return CaseAcknowledged(report_id=report_id, producer="test", agency_id=agency, lane="p2",
                            after_hours=hours)


async def test_timeline_and_gap_follow_the_events(make_settings, topology, redis_client):
    # Events made in the order they happen (their occurred_at), then written out of order.
    first = routed(1, also_notified=[Notified(agency_id="federal-mock-fbi", why="federal_nexus")])
    others = [routed(2), routed(3)]
    acks = [ack(1), ack(2, hours=15.0)]
    outcome = CaseOutcomeReported(report_id=1, producer="test", agency_id="icac-oh", lane="p2",
                                  outcome="arrest made", after_hours=40.0)
    lost = ReportUnassigned(report_id=4, producer="test", reasons=["no_location_fields"], priority=3,
                            lane="informational", offered_to="federal-mock-fbi")
    # The acknowledgement of report 2 arrives before its routing is read: still one closed case.
    await redis_client.xadd(topology.agency_responses, encode(acks[1]))
    for e in (first, *others):
        await redis_client.xadd(topology.routed, encode(e))
    for e in (acks[0], outcome, acks[0]):  # the duplicate acknowledgement must count once
        await redis_client.xadd(topology.agency_responses, encode(e))
    await redis_client.xadd(topology.unassigned, encode(lost))

    async with running(create_app(make_settings(TrackerSettings))) as client:
        async def settled():
            gap = (await client.get("/v1/gap")).json()
            return gap if (gap["routed"], gap["unassigned"], gap["outcomeKnown"],
                           gap["acknowledged"]) == (3, 1, 1, 2) else None
        gap = await eventually(settled, what="the gap to count every event")
        one = (await client.get("/v1/reports/1")).json()
        four = (await client.get("/v1/reports/4")).json()
        missing = await client.get("/v1/reports/999")

    # handoffs: 3 to icac-oh, 1 federal as well for report 1, 1 offer for report 4
    assert (gap["forwarded"], gap["offeredToFederal"]) == (5, 1)
    assert gap["noAckShare"] == pytest.approx(3 / 5)
    assert gap["open"]["count"] == 3  # report 3 at icac-oh, report 1 and 4 at the federal partner
    agencies = {row["name"]: row for row in gap["byAgency"]}
    oh = agencies["icac-oh"]
    assert (oh["forwarded"], oh["acknowledged"], oh["outcomeKnown"]) == (3, 2, 1)
    assert oh["meanAckHours"] == pytest.approx(10.0)
    assert agencies["federal-mock-fbi"]["forwarded"] == 2
    assert [s["stage"] for s in one["stages"]] == ["routed", "handoff", "handoff", "acknowledged",
                                                   "outcome"]
    assert one["agency"] == "icac-oh" and one["acknowledged"] is True and one["outcome"] == "arrest made"
    assert {h["agency"]: h["why"] for h in one["handoffs"]} == {"icac-oh": "jurisdiction",
                                                                "federal-mock-fbi": "federal_nexus"}
    assert four["unassignedReasons"] == ["no_location_fields"] and four["acknowledged"] is False
    assert four["handoffs"][0]["why"] == "unassigned_offer"
    assert missing.status_code == 404


async def test_dead_letters_are_counted_and_listed(make_settings, topology, redis_client):
    await redis_client.xadd(topology.routed, {b"data": b"garbage"})
    async with running(create_app(make_settings(TrackerSettings))) as client:
        async def counted():
            return (await client.get("/v1/gap")).json()["deadLetters"] == 1
        await eventually(counted, what="the dead letter counted")
        letters = (await client.get("/v1/dead-letters")).json()
    assert letters[0]["source_stream"] == topology.routed
    assert letters[0]["group"] == "tracker"
