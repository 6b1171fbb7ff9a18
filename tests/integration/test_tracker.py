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
from tests.helpers import ADMIN, ANALYST, ESP, eventually, has_entries, running, stream_events
from tests.pings import Ping, doubler, service_with

pytestmark = pytest.mark.integration


def routed(report_id: int, **extra) -> ReportRouted:
    return ReportRouted(esp="test-esp", report_id=report_id, producer="test", agency_id="icac-oh",
                        jurisdiction="US-OH", basis="estimatedLocation", confidence=1.0, priority=2,
                        lane="p2", **extra)


def ack(report_id: int, agency: str = "icac-oh", hours: float = 5.0) -> CaseAcknowledged:
    return CaseAcknowledged(esp="test-esp", report_id=report_id, producer="test", agency_id=agency, lane="p2",
                            why="jurisdiction", after_hours=hours)


async def test_timeline_and_gap_follow_the_events(make_settings, topology, redis_client):
    # Events made in the order they happen (their occurred_at), then written out of order.
    first = routed(1, also_notified=[Notified(agency_id="federal-mock-fbi", why="federal_nexus")])
    others = [routed(2), routed(3)]
    acks = [ack(1), ack(2, hours=15.0)]
    outcome = CaseOutcomeReported(esp="test-esp", report_id=1, producer="test", agency_id="icac-oh",
                                  lane="p2", why="jurisdiction",
                                  outcome="arrest made", after_hours=40.0)
    lost = ReportUnassigned(esp="test-esp", report_id=4, producer="test", reasons=["no_location_fields"],
                            priority=3,
                            lane="informational", offered_to="federal-mock-fbi")
    # The acknowledgement of report 2 arrives before its routing is read: still one closed case.
    await redis_client.xadd(topology.agency_responses, encode(acks[1]))
    for e in (first, *others):
        await redis_client.xadd(topology.routed, encode(e))
    for e in (acks[0], outcome, acks[0]):  # the duplicate acknowledgement must count once
        await redis_client.xadd(topology.agency_responses, encode(e))
    await redis_client.xadd(topology.unassigned, encode(lost))

    async with running(create_app(make_settings(TrackerSettings)), ANALYST) as client:
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
    # acknowledged after 5 and 15 simulated hours: buckets (4, 8] and (12, 24]; the median is
    # the top of the first: 8
    assert oh["timeToAck"]["count"] == 2 and oh["timeToAck"]["p50"] == pytest.approx(8.0)
    assert agencies["federal-mock-fbi"]["forwarded"] == 2
    assert [s["stage"] for s in one["stages"]] == ["routed", "handoff", "handoff", "acknowledged",
                                                   "outcome"]
    assert one["agency"] == "icac-oh" and one["acknowledged"] is True and one["outcome"] == "arrest made"
    assert {h["agency"]: h["why"] for h in one["handoffs"]} == {"icac-oh": "jurisdiction",
                                                                "federal-mock-fbi": "federal_nexus"}
    assert four["unassignedReasons"] == ["no_location_fields"] and four["acknowledged"] is False
    assert four["handoffs"][0]["why"] == "unassigned_offer"
    assert missing.status_code == 404


async def test_dead_letters_are_counted_and_listed_without_their_payloads(
    make_settings, topology, redis_client
):
    secret = b'{"personOrUserReported": {"email": ["someone@example.com"]}}'
    await redis_client.xadd(topology.routed, {b"data": secret})
    async with running(create_app(make_settings(TrackerSettings)), ANALYST) as client:
        async def counted():
            return (await client.get("/v1/gap")).json()["deadLetters"] == 1
        await eventually(counted, what="the dead letter counted")
        listed = await client.get("/v1/dead-letters")
        with_payload = await client.get("/v1/dead-letters?payload=true")
        [letter] = listed.json()
        shown_to_analyst = await client.get(f"/v1/dead-letters/{letter['id']}")
        shown_to_admin = await client.get(f"/v1/dead-letters/{letter['id']}", headers=ADMIN)
        listed_for_admin = await client.get("/v1/dead-letters?payload=true", headers=ADMIN)
    assert letter["sourceStream"] == topology.routed and letter["group"] == "tracker"
    assert letter["payload"] is None and "example.com" not in listed.text
    assert with_payload.status_code == 403 and shown_to_analyst.status_code == 401
    assert "someone@example.com" in shown_to_admin.json()["payload"]
    assert "someone@example.com" in listed_for_admin.json()[0]["payload"]


@pytest.mark.parametrize("path", ["/v1/gap", "/v1/reports/1", "/v1/dead-letters"])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     ESP])
async def test_the_read_api_takes_an_analyst_key(make_settings, path, headers):
    async with running(create_app(make_settings(TrackerSettings))) as client:
        r = await client.get(path, headers=headers)
        health = await client.get("/healthz")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert health.status_code == 200


async def test_a_dead_letter_is_replayed_once_after_the_fix(make_settings, topology, redis_client):
    """A consumer's handler fails on an entry until it is fixed: the entry is dead-lettered after
    its last delivery; after the fix an admin replays it, and it is handled, once."""
    def broken(event: Ping, out) -> None:
        raise RuntimeError("a bug")

    def consumer(handler):
        return service_with(handler, make_settings(), topology).app()

    await redis_client.xadd(topology.key("in"), {b"data": Ping(event_id="p1", report_id=1, n=21)
                                                 .model_dump_json().encode()})
    async with running(create_app(make_settings(TrackerSettings)), ADMIN) as tracker:
        async with running(consumer(broken)):
            async def dead():
                return (await tracker.get("/v1/dead-letters")).json()
            [letter] = await eventually(dead, timeout=15, what="the dead letter")
        first = await tracker.post(f"/v1/dead-letters/{letter['id']}/replay")
        second = await tracker.post(f"/v1/dead-letters/{letter['id']}/replay")
        by_analyst = await tracker.post(f"/v1/dead-letters/{letter['id']}/replay", headers=ANALYST)
        async with running(consumer(doubler(topology))):
            await eventually(lambda: has_entries(redis_client, topology.key("out"), 1),
                             what="the replayed entry handled")
        [listed] = (await tracker.get("/v1/dead-letters")).json()
    assert letter["deliveries"] == 3 and "RuntimeError: a bug" in letter["reason"]
    assert first.status_code == 200 and first.json()["stream"] == topology.key("in")
    assert second.status_code == 409 and by_analyst.status_code == 401
    assert [e["n"] for e in await stream_events(redis_client, topology.key("out"))] == [42]
    assert listed["replayed"] is True
