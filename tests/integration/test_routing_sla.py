"""Routing with real Redis: agency capacity, and an unacknowledged priority-1 case re-notified then
escalated, step by step in the tracker's timeline."""

from pathlib import Path

import pytest

from services.agencies.app import create_app as agencies_app
from services.agencies.config import AgenciesSettings
from services.router.app import create_app as router_app
from services.router.config import RouterSettings
from services.tracker.app import create_app as tracker_app
from services.tracker.config import TrackerSettings
from shared.schemas.events import ActionabilityScore, CaseAssigned, ReportTriaged, RuleHit
from shared.schemas.facts import RoutingFacts
from shared.schemas.report import FiledReport
from shared.wire import encode
from tests.conftest import directory_with as with_profiles
from tests.helpers import ANALYST, eventually, has_entries, running, stream_events
from tests.report_builder import build, file

pytestmark = pytest.mark.integration


def directory_with(tmp_path, **profile) -> Path:
    return with_profiles(tmp_path / "agencies.json", **profile)


async def triaged_priority_one_in_ohio(redis_client, topology) -> None:
    """Report 1: priority 1, located in Ohio, waiting on the p1 lane for the router."""
    report = FiledReport.model_validate(build(user=("id",), files=(file(),), location=("US", "OH")))
    await redis_client.xadd(topology.triaged["p1"], encode(ReportTriaged(
        esp="test-esp", report_id=1, producer="test", priority=1, disposition="referral", lane="p1",
        reasons=[RuleHit(rule="esp_escalation", reason="test")],
        actionability=ActionabilityScore(score=60, missing=[]),
        routing=RoutingFacts.of(report))))


async def test_an_unacknowledged_priority_one_case_is_renotified_then_escalated(
    make_settings, topology, redis_client, tmp_path
):
    common = dict(directory_file=directory_with(tmp_path, never_ack_share=1.0),
                  sim_seconds_per_hour=0.2)
    sla = dict(sla_p1_hours=1, sla_check_interval_ms=50)
    await triaged_priority_one_in_ohio(redis_client, topology)

    tracker, router = (tracker_app(make_settings(TrackerSettings, **common, **sla)),
                       router_app(make_settings(RouterSettings, **common)))
    agencies = agencies_app(make_settings(AgenciesSettings, **common))
    async with running(tracker, ANALYST) as tracker, running(router), running(agencies):
        async def escalated():
            r = await tracker.get("/v1/reports/1")
            return r.json() if r.status_code == 200 and any(
                h["agency"] == "federal-mock-fbi" for h in r.json()["handoffs"]) else None
        await eventually(escalated, timeout=20, what="the escalation")

        async def nothing_more_watched():
            # the federal partner's case goes dark too, then no case is watched: no breach can
            # come any more
            r = (await tracker.get("/v1/reports/1")).json()
            federal_dark = ("sla_breach_1", "federal-mock-fbi") in {
                (s["stage"], s["agency"]) for s in r["stages"]}
            return r if federal_dark and not await redis_client.zcard(topology.sla_watch) else None
        timeline = await eventually(nothing_more_watched, timeout=20, what="every breach")
        gap = (await tracker.get("/v1/gap")).json()

    stages = [(s["stage"], s["agency"]) for s in timeline["stages"]]
    assert stages == [
        ("triaged", None), ("routed", None), ("handoff", "icac-oh"), ("sla_breach_1", "icac-oh"),
        ("renotified", "icac-oh"), ("sla_breach_2", "icac-oh"), ("escalated", "icac-oh"),
        ("handoff", "federal-mock-fbi"),
        # the escalated case is a priority-1 case the federal partner does not acknowledge either:
        # it goes dark once, with nobody further to escalate to
        ("sla_breach_1", "federal-mock-fbi"),
    ]
    local = next(h for h in timeline["handoffs"] if h["agency"] == "icac-oh")
    assert (local["slaBreaches"], local["renotified"], local["escalatedTo"]) == (
        2, True, "federal-mock-fbi")
    assert (gap["slaBreaches"], gap["renotified"], gap["escalations"]) == (3, 1, 1)
    assert gap["dark"] == 2  # both handoffs: icac-oh's and the federal partner's
    cases = await stream_events(redis_client, topology.agency_inbox("icac-oh"))
    assert [c["why"] for c in cases] == ["jurisdiction", "renotification"]
    [federal] = await stream_events(redis_client, topology.agency_inbox("federal-mock-fbi"))
    assert federal["why"] == "escalation" and federal["priority"] == 1
    # after the second breach the case is no longer watched, and its breach level is gone
    assert await redis_client.zcard(topology.sla_watch) == 0
    assert await redis_client.hlen(topology.sla_levels) == 0


async def test_an_acknowledged_case_is_never_breached(make_settings, topology, redis_client, tmp_path):
    common = dict(directory_file=directory_with(
        tmp_path, never_ack_share=0.0, ack_median_hours={"p1": 0.01, "p2": 1, "p3": 1,
                                                         "informational": 1}, ack_spread=0.0),
        sim_seconds_per_hour=0.2)
    sla = dict(sla_p1_hours=2, sla_check_interval_ms=50)
    await triaged_priority_one_in_ohio(redis_client, topology)
    # The agencies are up before the router hands anything over: the SLA clock starts then.
    tracker, router = (tracker_app(make_settings(TrackerSettings, **common, **sla)),
                       router_app(make_settings(RouterSettings, **common)))
    agencies = agencies_app(make_settings(AgenciesSettings, **common))
    async with running(agencies), running(tracker, ANALYST) as tracker, running(router):
        async def acknowledged():
            r = await tracker.get("/v1/reports/1")
            return r.status_code == 200 and r.json()["acknowledged"]
        await eventually(acknowledged, what="the acknowledgement")

        async def unwatched():  # an acknowledged case is no longer watched: it cannot breach
            return not await redis_client.zcard(topology.sla_watch)
        await eventually(unwatched, what="the case no longer watched")
        gap = (await tracker.get("/v1/gap")).json()
        timeline = (await tracker.get("/v1/reports/1")).json()
    assert gap["slaBreaches"] == 0, timeline
    assert await redis_client.zcard(topology.sla_watch) == 0


async def test_a_busy_agency_acknowledges_later_as_its_backlog_grows(
    make_settings, topology, redis_client, tmp_path
):
    common = dict(directory_file=directory_with(
        tmp_path, capacity_per_day=24, never_ack_share=0.0, outcome_share=0.0, ack_spread=0.0,
        ack_median_hours={"p1": 0.01, "p2": 0.01, "p3": 0.01, "informational": 0.01}),
        sim_seconds_per_hour=0.05)
    for i in range(1, 6):
        await redis_client.xadd(topology.agency_inbox("icac-oh"), encode(CaseAssigned(
            esp="test-esp", report_id=i, producer="test", agency_id="icac-oh", priority=3, lane="p3",
            jurisdiction="US-OH", incident_type="x")))
    async with running(agencies_app(make_settings(AgenciesSettings, **common))):
        await eventually(lambda: has_entries(redis_client, topology.agency_responses, 5), timeout=10,
                         what="five acknowledgements")
    hours = sorted(r["after_hours"] for r in await stream_events(redis_client,
                                                                  topology.agency_responses))
    # capacity 24 a day: each case holds the agency for an hour, so the n-th waits about n-1 hours
    # (a little less: the wall clock moves on while the batch is handled)
    assert hours == pytest.approx([0.01, 1.01, 2.01, 3.01, 4.01], abs=0.25)
    assert all(b - a > 0.75 for a, b in zip(hours, hours[1:], strict=False))
