"""Triage, router and agencies, one service at a time, each against a real Redis."""

import pytest

from services.agencies.app import create_app as agencies_app
from services.agencies.config import AgenciesSettings
from services.router.app import create_app as router_app
from services.router.config import RouterSettings
from services.triage.app import create_app as triage_app
from services.triage.config import TriageSettings
from shared.schemas.events import ActionabilityScore, CaseAssigned, ReportTriaged, RuleHit
from shared.schemas.facts import RoutingFacts
from shared.schemas.report import FiledReport
from shared.synthetic import synthetic_report
from shared.wire import encode
from tests.helpers import eventually, publish_submitted, running, stream_events

pytestmark = pytest.mark.integration


def report_of(kind: str, seed: object) -> FiledReport:
    return FiledReport.model_validate(synthetic_report(kind, seed))


async def test_triage_puts_each_report_on_the_lane_of_its_priority(make_settings, topology, redis_client):
    events = [await publish_submitted(redis_client, topology, i, report_of(kind, i)) for i, kind in
              enumerate(["escalated", "referral", "informational", "no_location"], 1)]
    async with running(triage_app(make_settings(TriageSettings))):
        async def all_triaged():
            return sum([await redis_client.xlen(s) for s in topology.triaged.values()]) == 4
        await eventually(all_triaged, what="4 triaged reports")
    lanes = {lane: await stream_events(redis_client, s) for lane, s in topology.triaged.items()}
    by_id = {e["report_id"]: (lane, e) for lane, es in lanes.items() for e in es}
    assert by_id[1][0] == "p1" and by_id[1][1]["priority"] == 1
    assert by_id[2][1]["disposition"] == "referral" and by_id[2][0] in ("p2", "p3")
    assert by_id[3][0] == "informational" and by_id[4][0] == "informational"
    assert all(e["reasons"] for _, e in by_id.values())
    # the output's id derives from the input's: a reprocessed input is recognisable downstream
    assert len({e["event_id"] for _, e in by_id.values()} & {e.event_id for e in events}) == 0


def triaged(kind: str, report_id: int, lane: str = "p2") -> ReportTriaged:
    source = report_of(kind, "sample")  # the sample files' places
    return ReportTriaged(esp="test-esp", report_id=report_id, producer="test", priority=2,
                         disposition="referral",
                         lane=lane, reasons=[RuleHit(rule="test", reason="test")],
                         actionability=ActionabilityScore(score=50, missing=[]),
                         routing=RoutingFacts.of(source))


async def test_router_sends_a_case_to_the_agency_inbox_or_records_it_unassigned(
    make_settings, topology, redis_client
):
    located, nowhere = triaged("escalated", 1, "p1"), triaged("no_location", 2)
    await redis_client.xadd(topology.triaged["p1"], encode(located))
    await redis_client.xadd(topology.triaged["p2"], encode(nowhere))
    async with running(router_app(make_settings(RouterSettings))):
        async def both_decided():
            return await redis_client.xlen(topology.routed) + await redis_client.xlen(
                topology.unassigned) == 2
        await eventually(both_decided, what="a routed and an unassigned report")
    [routed] = await stream_events(redis_client, topology.routed)
    [case] = await stream_events(redis_client, topology.agency_inbox("icac-ca-sacramento"))
    [unassigned] = await stream_events(redis_client, topology.unassigned)
    [offer] = await stream_events(redis_client, topology.agency_inbox("federal-mock-fbi"))
    assert routed["report_id"] == case["report_id"] == 1
    assert routed["basis"] == "estimatedLocation" and routed["jurisdiction"] == "US-CA"
    assert routed["region"] == "Sacramento Valley"  # the city in the ESP's estimate
    assert case["priority"] == 2 and case["lane"] == "p1" and case["why"] == "jurisdiction"
    assert unassigned["report_id"] == 2 and unassigned["reasons"] == ["only_proxy_ips"]
    assert unassigned["offered_to"] == "federal-mock-fbi"
    assert (offer["report_id"], offer["why"]) == (2, "unassigned_offer")


async def test_agencies_acknowledge_after_the_simulated_delay(
    make_settings, topology, redis_client, sure_directory
):
    cases = [CaseAssigned(esp="test-esp", report_id=i, producer="test", agency_id=agency, priority=1,
                          lane="p1",
                          jurisdiction="US-X", incident_type="Child Sex Trafficking")
             for i, agency in enumerate(["icac-ny-city", "icac-oh", "intl-mock-gb"], 1)]
    for case in cases:
        await redis_client.xadd(topology.agency_inbox(case.agency_id), encode(case))
    async with running(agencies_app(make_settings(AgenciesSettings, directory_file=sure_directory))):
        async def acks_and_outcomes():
            return await redis_client.xlen(topology.agency_responses) == 6
        await eventually(acks_and_outcomes, timeout=20, what="3 acknowledgements and 3 outcomes")
    responses = await stream_events(redis_client, topology.agency_responses)
    acks = {r["report_id"]: r for r in responses if r["type"] == "CaseAcknowledged"}
    outcomes = {r["report_id"]: r for r in responses if r["type"] == "CaseOutcomeReported"}
    assert set(acks) == set(outcomes) == {1, 2, 3}
    assert {acks[c.report_id]["agency_id"] for c in cases} == {c.agency_id for c in cases}
    assert all(outcomes[i]["after_hours"] >= acks[i]["after_hours"] for i in acks)
    assert await redis_client.zcard(topology.agency_schedule) == 0
