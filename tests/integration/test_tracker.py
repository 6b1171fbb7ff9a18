"""The tracker against a real Redis: timelines, the gap, duplicates counted once, dead letters."""

import pytest

from services.tracker.app import create_app
from shared import topology
from shared.consumer import encode
from shared.schemas.events import (
    CaseAcknowledged,
    CaseOutcomeReported,
    ReportRouted,
    ReportUnassigned,
)
from tests.helpers import eventually, running

pytestmark = pytest.mark.integration


async def test_timeline_and_gap_follow_the_events(fast_env, redis_client):
    routed = [ReportRouted(report_id=i, producer="test", agency_id="icac-ca", jurisdiction="US-CA",
                           basis="estimatedLocation", priority=2, lane="p2") for i in (1, 2, 3)]
    ack = CaseAcknowledged(report_id=1, producer="test", agency_id="icac-ca", lane="p2",
                           after_hours=5.0)
    outcome = CaseOutcomeReported(report_id=1, producer="test", agency_id="icac-ca", lane="p2",
                                  outcome="arrest made", after_hours=40.0)
    ack2 = CaseAcknowledged(report_id=2, producer="test", agency_id="icac-ca", lane="p2",
                            after_hours=15.0)
    lost = ReportUnassigned(report_id=4, producer="test", reasons=["no_location_fields"], priority=3,
                            lane="informational")
    # The acknowledgement of report 2 arrives before its routing is read: still one closed case.
    await redis_client.xadd(topology.AGENCY_RESPONSES, encode(ack2))
    for e in routed:
        await redis_client.xadd(topology.ROUTED, encode(e))
    for e in (ack, outcome, ack):  # the duplicate acknowledgement must count once
        await redis_client.xadd(topology.AGENCY_RESPONSES, encode(e))
    await redis_client.xadd(topology.UNASSIGNED, encode(lost))

    async with running(create_app()) as client:
        async def settled():
            gap = (await client.get("/v1/gap")).json()
            return gap if gap["forwarded"] == 3 and gap["unassigned"] == 1 and \
                gap["outcomeKnown"] == 1 and gap["acknowledged"] == 2 else None
        gap = await eventually(settled, what="the gap to count every event")
        one = (await client.get("/v1/reports/1")).json()
        four = (await client.get("/v1/reports/4")).json()
        missing = await client.get("/v1/reports/999")

    assert gap["noAckShare"] == pytest.approx(1 / 3, abs=1e-3)
    assert gap["open"]["count"] == 1  # report 3: forwarded, nobody has said anything since
    [ca] = [row for row in gap["byAgency"] if row["name"] == "icac-ca"]
    assert (ca["forwarded"], ca["acknowledged"], ca["outcomeKnown"]) == (3, 2, 1)
    assert ca["meanAckHours"] == pytest.approx(10.0)
    [p2] = [row for row in gap["byLane"] if row["name"] == "p2"]
    assert p2["forwarded"] == 3
    assert [s["stage"] for s in one["stages"]] == ["routed", "acknowledged", "outcome"]
    assert one["agency"] == "icac-ca" and one["acknowledged"] is True and one["outcome"] == "arrest made"
    assert four["unassignedReasons"] == ["no_location_fields"] and four["acknowledged"] is False
    assert missing.status_code == 404


async def test_dead_letters_are_counted_and_listed(fast_env, redis_client):
    await redis_client.xadd(topology.ROUTED, {b"data": b"garbage"})
    async with running(create_app()) as client:
        async def counted():
            return (await client.get("/v1/gap")).json()["deadLetters"] == 1
        await eventually(counted, what="the dead letter counted")
        letters = (await client.get("/v1/dead-letters")).json()
    assert letters[0]["source_stream"] == topology.ROUTED
    assert letters[0]["group"] == "tracker"
