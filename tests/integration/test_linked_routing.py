"""Routing with link groups on a real Redis: a report without a jurisdiction of its own goes to the
agency holding its group; linked cases at different agencies are each told of the other; a
redelivered report links nothing twice; the preservation clock warns, then counts, on an
injectable clock; a linked case of another agency stays 404; unviewed files are withheld until
legal process."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.router.app import create_app as router_app
from services.router.config import RouterSettings
from services.tracker.app import app_for
from services.tracker.app import bootstrap as tracker_bootstrap
from services.tracker.app import create_app as tracker_app
from services.tracker.config import TrackerSettings
from shared import bodies, devkeys
from shared.bodies import ReportBodies
from shared.clock import ManualClock
from shared.linking import link_clues
from shared.schemas.events import (
    ActionabilityScore,
    CaseAcknowledged,
    ReportRouted,
    ReportTriaged,
    RuleHit,
)
from shared.schemas.facts import RoutingFacts
from shared.schemas.report import FiledReport
from shared.wire import encode
from tests.helpers import ANALYST, eventually, running, stream_events
from tests.report_builder import build, file

pytestmark = pytest.mark.integration

KEY = devkeys.LINK_KEY.encode()
AGENCY_KEYS = "icac-oh:key-oh,icac-ga:key-ga"
OH, GA = {"Authorization": "Bearer key-oh"}, {"Authorization": "Bearer key-ga"}


def offender_report(location: tuple[str, None] | tuple[str, str] | None,
                    prior: tuple[int, ...] = (), files: tuple[dict, ...] = ()) -> FiledReport:
    body = build(user=("id",), location=location, files=files)
    suspect = body["personOrUserReported"]
    suspect["espService"], suspect["espIdentifier"] = "Synthetic Chat", "offender-77"
    if prior:
        suspect["priorCTReports"] = list(prior)
    return FiledReport.model_validate(body)


def triaged(report_id: int, report: FiledReport, esp: str = "esp-a",
            event_id: str | None = None) -> ReportTriaged:
    extra = {"event_id": event_id} if event_id else {}
    return ReportTriaged(
        esp=esp, report_id=report_id, producer="test", priority=2, disposition="referral",
        lane="p2", reasons=[RuleHit(rule="test", reason="test")],
        actionability=ActionabilityScore(score=60, missing=[]), routing=RoutingFacts.of(report),
        links=link_clues(report, KEY), submitted_at=datetime.now(UTC), **extra)


async def inbox(redis_client, topology, agency: str) -> list[dict[str, Any]]:
    return await stream_events(redis_client, topology.agency_inbox(agency))


async def test_a_group_routes_to_its_holder_and_splits_are_told_to_both_agencies(
        make_settings, topology, redis_client):
    settings = dict(agency_keys=AGENCY_KEYS)
    tracker_settings = make_settings(TrackerSettings, **settings)
    tracker = tracker_app(tracker_settings)
    async with running(tracker, ANALYST) as api, running(router_app(make_settings(RouterSettings))):
        async def routed(report_id: int) -> dict[str, Any] | None:
            r = await api.get(f"/v1/reports/{report_id}")
            return r.json() if r.status_code == 200 and any(
                s["stage"] == "routed" for s in r.json()["stages"]) else None

        # report 1, Ohio; report 2, the same account in California: two agencies, one group
        report1 = triaged(1, offender_report(("US", "OH")))
        await redis_client.xadd(topology.triaged["p2"], encode(report1))
        first = await eventually(lambda: routed(1), what="report 1 routed")
        assert first["agency"] == "icac-oh" and first["group"] is None
        duplicate = triaged(2, offender_report(("US", "GA")), esp="esp-b")
        await redis_client.xadd(topology.triaged["p2"], encode(duplicate))
        second = await eventually(lambda: routed(2), what="report 2 routed")
        assert second["agency"] == "icac-ga"  # its own jurisdiction says otherwise
        assert second["links"] == [{"reportId": 1, "agency": "icac-oh", "bases": ["esp-account"]}]
        notices = [(e["report_id"], e["agency_id"], e["deconfliction"]["other_report_id"],
                    e["deconfliction"]["other_agency_id"])
                   for a in ("icac-oh", "icac-ga") for e in await inbox(redis_client, topology, a)
                   if e["why"] == "deconfliction"]
        assert sorted(notices) == [(1, "icac-oh", 2, "icac-ga"), (2, "icac-ga", 1, "icac-oh")]

        # report 3 has no location of its own and cites report 1: it goes to report 1's holder
        await redis_client.xadd(topology.triaged["p2"], encode(triaged(3, offender_report(
            None, prior=(1,)))))
        third = await eventually(lambda: routed(3), what="report 3 routed")
        stage = next(s for s in third["stages"] if s["stage"] == "routed")
        assert third["agency"] == "icac-oh"
        assert stage["detail"]["why"] == "linked"
        assert stage["detail"]["basis"] == "linked to report 1 held by icac-oh"
        assert {(x["reportId"], tuple(x["bases"])) for x in third["links"]} == {
            (1, ("esp-account", "prior-report"))}  # the account's first holder; 2 by the group
        assert third["group"] == 1 and third["groupSize"] == 3
        assert [(m["reportId"], m["agency"]) for m in third["groupMembers"]] == [
            (1, "icac-oh"), (2, "icac-ga"), (3, "icac-oh")]

        # each agency's queue shows its cases' links and the notices about them
        oh = (await api.get("/v1/agencies/icac-oh/cases", headers=OH)).json()["cases"]
        case1 = next(c for c in oh if c["reportId"] == 1)
        assert {(n["otherReport"], n["otherAgency"]) for n in case1["deconfliction"]} == {
            (2, "icac-ga")}
        # a year of simulated days from the submission; what has passed since is simulated too
        per_day = 24 * tracker_settings.sim_seconds_per_hour
        assert datetime.fromisoformat(case1["preserveUntil"]) == (
            report1.submitted_at + timedelta(seconds=365 * per_day))
        passed = (datetime.now(UTC) - report1.submitted_at).total_seconds() / per_day
        assert 365 - passed - 0.01 <= case1["preservationDaysLeft"] < 365
        ga = (await api.get("/v1/agencies/icac-ga/cases", headers=GA)).json()["cases"]
        case2 = next(c for c in ga if c["reportId"] == 2)
        assert {(n["otherReport"], n["otherAgency"]) for n in case2["deconfliction"]} == {
            (1, "icac-oh"), (3, "icac-oh")}

        # a linked case of another agency stays out of reach
        assert (await api.get("/v1/agencies/icac-ga/cases/1/report", headers=GA)).status_code == 404
        assert (await api.get("/v1/agencies/icac-ga/cases/3/report", headers=GA)).status_code == 404
        assert (await api.post("/v1/agencies/icac-ga/cases/1/responses", headers=GA,
                               json={"status": "acknowledged"})).status_code == 404

        # an agency played by people acknowledges a notice through the API, once
        told = "/v1/agencies/icac-ga/cases/2/notices/1"
        assert (await api.post(told, headers=GA)).json()["published"] == ["notice-acknowledged"]

        async def acknowledged() -> dict[str, Any] | None:
            gap = (await api.get("/v1/gap")).json()["linking"]
            return gap if gap["noticesAcknowledged"] == 1 else None
        await eventually(acknowledged, what="the notice acknowledged")
        assert (await api.post(told, headers=GA)).json()["published"] == []
        assert (await api.post("/v1/agencies/icac-ga/cases/1/notices/2",
                               headers=GA)).status_code == 404  # no such notice on its case
        [notice] = [n for n in (await api.get("/v1/reports/2")).json()["notices"]
                    if n["otherReport"] == 1]
        assert notice["acknowledgedAt"] is not None

        gap = (await api.get("/v1/gap")).json()["linking"]
        assert gap["groups"] == 1 and gap["linkedReports"] == 3
        assert gap["routedByGroup"] == 1 and gap["deconflictions"] == 2
        assert gap["noticesSent"] == 4

        # report 2 delivered again (a replay): no link, no notice, no group change twice
        edges = await redis_client.hgetall(topology.link_edges)
        inboxes = [len(await inbox(redis_client, topology, a)) for a in ("icac-oh", "icac-ga")]
        await redis_client.xadd(topology.triaged["p2"], encode(duplicate))

        async def replay_handled() -> bool:
            groups = await redis_client.xinfo_groups(topology.triaged["p2"])
            router = next(g for g in groups if g["name"] == b"router")
            return router["entries-read"] == 4 and router["pending"] == 0
        await eventually(replay_handled, what="the replay handled")
        assert await redis_client.hgetall(topology.link_edges) == edges
        assert [len(await inbox(redis_client, topology, a)) for a in ("icac-oh", "icac-ga")] \
            == inboxes
        assert (await api.get("/v1/gap")).json()["linking"] == gap


async def test_the_preservation_clock_warns_then_counts_on_an_injectable_clock(
        make_settings, topology, redis_client):
    clock = ManualClock(at=datetime(2027, 3, 1, tzinfo=UTC).timestamp())
    hour = 1.0  # a simulated hour is a second of the manual clock
    settings = make_settings(TrackerSettings, sim_seconds_per_hour=hour, preservation_days=10,
                             preservation_at_risk_days=2, sla_check_interval_ms=20,
                             agency_keys=AGENCY_KEYS)
    wired = tracker_bootstrap(settings, clock=clock)
    now = datetime.fromtimestamp(clock.now(), UTC)
    until = now + timedelta(seconds=10 * 24 * hour)
    for report_id in (1, 2):
        await redis_client.xadd(topology.routed, encode(ReportRouted(
            report_id=report_id, producer="test", esp="esp-a", occurred_at=now,
            agency_id="icac-oh", jurisdiction="US-OH", basis="estimatedLocation", confidence=1.0,
            priority=2, lane="p2", preserve_until=until)))
    async with running(app_for(wired), ANALYST) as api:
        async def cases() -> list[dict[str, Any]] | None:
            found = (await api.get("/v1/agencies/icac-oh/cases", headers=OH)).json()["cases"]
            return found if len(found) == 2 else None
        opened = await eventually(cases, what="both cases open")
        assert [c["preservationDaysLeft"] for c in opened] == [10.0, 10.0]
        # report 2 is acknowledged in time
        await redis_client.xadd(topology.agency_responses, encode(CaseAcknowledged(
            report_id=2, producer="test", esp="esp-a", agency_id="icac-oh", lane="p2",
            why="jurisdiction", after_hours=1.0)))

        async def acknowledged() -> bool:
            return len((await api.get("/v1/agencies/icac-oh/cases", headers=OH)).json()[
                "cases"]) == 1
        await eventually(acknowledged, what="report 2 acknowledged")
        assert (await api.get("/v1/gap")).json()["preservation"]["atRisk"] == 0

        clock.advance(8.5 * 24 * hour)  # 1.5 days left: at risk, its agency warned once

        async def warned() -> list[dict[str, Any]]:
            return [e for e in await stream_events(redis_client, topology.sla_breaches)
                    if e["type"] == "PreservationExpiring"]
        [warning] = await eventually(warned, what="the preservation warning")
        assert (warning["report_id"], warning["agency_id"], warning["days_left"]) == (
            1, "icac-oh", 1.5)
        preservation = (await api.get("/v1/gap")).json()["preservation"]
        assert preservation["atRisk"] == 1 and preservation["expiredBeforeAck"] == 0

        clock.advance(2 * 24 * hour)  # past the end: report 1 never acknowledged

        async def expired() -> dict[str, Any] | None:  # and the warning recorded by the ledger
            gap = (await api.get("/v1/gap")).json()
            return gap if gap["preservation"]["expiredBeforeAck"] == 1 and gap["preservation"][
                "warnings"] == 1 else None
        gap = await eventually(expired, what="the expiry counted, the warning recorded")
        stages = {s["stage"] for s in (await api.get("/v1/reports/2")).json()["stages"]}
        assert "preservation_expired" not in stages  # report 2 was acknowledged in time
        assert gap["preservation"]["atRisk"] == 0 and gap["preservation"]["warnings"] == 1
        row = next(r for r in gap["byAgency"] if r["name"] == "icac-oh")
        assert row["preservationExpired"] == 1
        [case] = (await api.get("/v1/agencies/icac-oh/cases", headers=OH)).json()["cases"]
        assert case["reportId"] == 1 and case["preservationExpired"]
        assert case["preservationDaysLeft"] == 0
        assert len(await warned()) == 1  # warned once, however often the watcher looked


async def test_unviewed_files_are_withheld_until_the_agency_records_legal_process(
        make_settings, topology, redis_client):
    report = offender_report(("US", "OH"), files=(dict(file(seed=1), fileViewedByEsp=True),
                                                  dict(file(seed=2), fileViewedByEsp=False)))
    async with redis_client.pipeline() as pipe:
        ReportBodies(redis_client, topology, 3600).store(pipe, 1, bodies.encode(report))
        await pipe.execute()
    await redis_client.xadd(topology.routed, encode(ReportRouted(
        report_id=1, producer="test", esp="esp-a", agency_id="icac-oh", jurisdiction="US-OH",
        basis="estimatedLocation", confidence=1.0, priority=2, lane="p2",
        files_needing_legal_process=1)))
    async with running(tracker_app(make_settings(TrackerSettings, agency_keys=AGENCY_KEYS)),
                       ANALYST) as api:
        async def served() -> Any:
            r = await api.get("/v1/agencies/icac-oh/cases/1/report", headers=OH)
            return r if r.status_code == 200 else None
        first = await eventually(served, what="the case's report")
        assert first.headers["tipline-withheld-files"] == "1"
        assert [f["fileViewedByEsp"] for f in first.json()["files"]] == [True]
        [case] = (await api.get("/v1/agencies/icac-oh/cases", headers=OH)).json()["cases"]
        assert case["filesNeedingLegalProcess"] == 1 and not case["legalProcess"]
        assert (await api.post("/v1/agencies/icac-ga/cases/1/legal-process", headers=GA,
                               json={"process": "subpoena"})).status_code == 404
        r = await api.post("/v1/agencies/icac-oh/cases/1/legal-process", headers=OH,
                           json={"process": "search-warrant"})
        assert r.status_code == 202 and r.json()["published"] == ["legal-process"]

        async def shown() -> Any:
            r = await api.get("/v1/agencies/icac-oh/cases/1/report", headers=OH)
            return r if r.headers["tipline-withheld-files"] == "0" else None
        after = await eventually(shown, what="the files shown after legal process")
        assert [f["fileViewedByEsp"] for f in after.json()["files"]] == [True, False]
        timeline = (await api.get("/v1/reports/1")).json()
        assert json.dumps(timeline).count("legal_process") == 1


async def test_linked_reports_read_in_one_batch_are_deconflicted_all_the_same(
        make_settings, topology, redis_client):
    # both waiting before the router starts: one read, one prepare step, then both decided
    for report_id, state in ((1, "OH"), (2, "GA"), (3, None)):
        location = ("US", state) if state else None
        await redis_client.xadd(topology.triaged["p2"], encode(triaged(
            report_id, offender_report(location, prior=(1,) if report_id == 3 else ()))))
    async with running(router_app(make_settings(RouterSettings))):
        async def routed() -> list[dict[str, Any]] | None:
            found = [e for e in await stream_events(redis_client, topology.routed)
                     if e["type"] == "ReportRouted"]
            return found if len(found) == 3 else None
        decisions = {e["report_id"]: e for e in await eventually(routed, what="three routed")}
    assert decisions[3]["agency_id"] == "icac-oh" and decisions[3]["why"] == "linked"
    assert [(n["report_id"], n["agency_id"]) for n in decisions[2]["deconfliction"]] == [
        (1, "icac-oh"), (2, "icac-ga")]
    assert {(x["report_id"], x["agency_id"]) for x in decisions[3]["links"]} == {(1, "icac-oh")}
    assert [(n["report_id"], n["agency_id"]) for n in decisions[3]["deconfliction"]] == [
        (2, "icac-ga"), (3, "icac-oh")]
