"""The handoff gap against a real Redis: its figures equal counts made from the streams themselves,
the watchdog announces each breach once (also across a tracker restart), and the agency API."""

import json
import time
from collections import Counter

import pytest

from services.agencies.app import create_app as agencies_app
from services.agencies.config import AgenciesSettings
from services.intake.app import create_app as intake_app
from services.intake.config import IntakeSettings
from services.router.app import create_app as router_app
from services.router.config import RouterSettings
from services.tracker.app import create_app as tracker_app
from services.tracker.config import TrackerSettings
from services.tracker.keeper import BodyKeeper
from services.tracker.reads import LedgerReads
from services.triage.app import create_app as triage_app
from services.triage.config import TriageSettings
from shared.bodies import ReportBodies
from shared.clock import SYSTEM
from shared.schemas.events import ReportRouted
from shared.schemas.report import FiledReport
from shared.synthetic import scenario, synthetic_report
from shared.wire import encode
from tests.conftest import directory_with
from tests.helpers import AGENCY, ANALYST, eventually, publish_submitted, running, stream_events

pytestmark = pytest.mark.integration

SLA = dict(sla_p1_hours=1, sla_p2_hours=2, sla_p3_hours=3, sla_informational_hours=None,
           sla_check_interval_ms=50)


def mixed_directory(tmp_path):
    """Agencies that answer in simulated hours, some late, some never, some with outcomes."""
    return directory_with(
        tmp_path / "agencies.json", capacity_per_day=100_000, never_ack_share=0.3,
        outcome_share=0.5, ack_spread=1.0, outcome_median_hours=2.0,
        ack_median_hours={"p1": 0.5, "p2": 1.5, "p3": 2.5, "informational": 4.0})


def counted_from_streams(events: dict[str, list[dict]]) -> dict:
    """The gap's figures, counted from the streams' entries alone."""
    cases = [e for e in events["inboxes"] if e["why"] != "renotification"]
    acks = {(e["report_id"], e["agency_id"]): e for e in events["responses"]
            if e["type"] == "CaseAcknowledged"}
    outcomes = {(e["report_id"], e["agency_id"]) for e in events["responses"]
                if e["type"] == "CaseOutcomeReported"}
    breached = {(e["report_id"], e["agency_id"]) for e in events["breaches"] if e["level"] == 1}
    return {
        "submitted": len(events["submitted"]),
        "forwarded": len(cases),
        "acknowledged": len(acks),
        "outcomeKnown": len(outcomes),
        "dark": len(breached - set(acks)),
        "slaBreaches": len(events["breaches"]),
        "by_agency": Counter(e["agency_id"] for e in cases),
        "acked_by_agency": Counter(agency for _, agency in acks),
        "submitted_by_esp": Counter(e["esp"] for e in events["submitted"]),
        "forwarded_by_esp": Counter(e["esp"] for e in cases),
        "acked_by_esp": Counter(e["esp"] for e in acks.values()),
    }


def figures_of(gap: dict) -> dict:
    return {
        **{k: gap[k] for k in ("submitted", "forwarded", "acknowledged", "outcomeKnown", "dark",
                               "slaBreaches")},
        "by_agency": Counter({r["name"]: r["forwarded"] for r in gap["byAgency"] if r["forwarded"]}),
        "acked_by_agency": Counter({r["name"]: r["acknowledged"] for r in gap["byAgency"]
                                    if r["acknowledged"]}),
        "submitted_by_esp": Counter({r["name"]: r["submitted"] for r in gap["byEsp"]}),
        "forwarded_by_esp": Counter({r["name"]: r["forwarded"] for r in gap["byEsp"]
                                     if r["forwarded"]}),
        "acked_by_esp": Counter({r["name"]: r["acknowledged"] for r in gap["byEsp"]
                                 if r["acknowledged"]}),
    }


async def test_every_figure_of_the_gap_equals_a_count_from_the_streams(
    make_settings, topology, redis_client, tmp_path
):
    directory = mixed_directory(tmp_path)
    common = dict(directory_file=directory, sim_seconds_per_hour=0.05)
    intake = intake_app(make_settings(IntakeSettings, esp_keys="esp-a:key-a,esp-b:key-b"))
    tracker = tracker_app(make_settings(TrackerSettings, **common, **SLA))
    others = [triage_app(make_settings(TriageSettings)),
              router_app(make_settings(RouterSettings, **common)),
              agencies_app(make_settings(AgenciesSettings, **common))]
    reports = scenario(80, seed=5)
    async with running(tracker, ANALYST) as analyst, running(intake) as client, \
            running(others[0]), running(others[1]), running(others[2]):
        for i, report in enumerate(reports):
            key = "key-a" if i % 3 else "key-b"
            r = await client.post("/v1/reports", json=report, headers={
                "Authorization": f"Bearer {key}"})
            assert r.status_code == 202

        async def events() -> dict[str, list[dict]]:
            inboxes = [e for a in json.loads(directory.read_text())["agencies"]
                       for e in await stream_events(redis_client, topology.agency_inbox(a["id"]))]
            submitted = [e for s in topology.submitted.values()
                         for e in await stream_events(redis_client, s)]
            return {"submitted": submitted, "inboxes": inboxes,
                    "responses": await stream_events(redis_client, topology.agency_responses),
                    "breaches": await stream_events(redis_client, topology.sla_breaches)}

        async def settled():
            """Nothing scheduled, nothing left to read, and the two counts agree."""
            if await redis_client.zcard(topology.agency_schedule):
                return None
            gap = (await analyst.get("/v1/gap")).json()
            if gap["routed"] + gap["unassigned"] + gap["bundled"] < len(reports):
                return None
            mine, theirs = counted_from_streams(await events()), figures_of(gap)
            return (mine, gap) if mine == theirs else None

        found = await eventually(settled, timeout=40, what="the gap to equal the streams' counts")
    counted, gap = found
    # the scenario exercised what it is meant to: several agencies, both ESPs, every kind of end
    assert len(counted["by_agency"]) >= 5 and set(counted["submitted_by_esp"]) == {"esp-a", "esp-b"}
    assert counted["acknowledged"] and counted["dark"] and counted["outcomeKnown"]
    assert gap["timeToAck"]["count"] == counted["acknowledged"]
    assert sum(gap["unassignedReasons"].values()) >= gap["unassigned"]


def routed(report_id: int, agency: str, lane: str, esp: str = "esp-a") -> ReportRouted:
    return ReportRouted(report_id=report_id, producer="test", esp=esp, agency_id=agency,
                        jurisdiction="US-OH", basis="estimatedLocation", confidence=1.0,
                        priority={"p1": 1, "p2": 2}.get(lane, 3), lane=lane)


async def test_the_watchdog_announces_each_breach_once_across_a_restart(
    make_settings, topology, redis_client
):
    """Cases nobody acknowledges, watched by one tracker, then by two side by side while the first
    stops: each case is breached once per level (a local priority-1 case twice), never more."""
    lanes = ["p1", "p2", "p3", "informational"]
    for i in range(1, 41):
        await redis_client.xadd(topology.routed, encode(routed(i, "icac-oh", lanes[i % 4])))
    # p3 cases go dark seconds after the others: still due when the first trackers have stopped
    slow = dict(sim_seconds_per_hour=0.1, sla_p1_hours=2, sla_p2_hours=4, sla_p3_hours=40,
                sla_informational_hours=None, sla_check_interval_ms=30)
    first = tracker_app(make_settings(TrackerSettings, consumer_name="first", **slow))
    second = tracker_app(make_settings(TrackerSettings, consumer_name="second", **slow))
    async with running(first, ANALYST) as client:
        await eventually(lambda: _has(redis_client, topology.sla_breaches, 5), timeout=10,
                         what="the first breaches")
        async with running(second):  # side by side until a few more breaches are announced
            seen = await redis_client.xlen(topology.sla_breaches)
            await eventually(lambda: _has(redis_client, topology.sla_breaches, seen + 3),
                             timeout=10, what="breaches while both watch")
        # the first stops while breaches are still due; the second has stopped too: restart it
        gap_before = (await client.get("/v1/gap")).json()
    async with running(tracker_app(make_settings(TrackerSettings, consumer_name="second",
                                                 **slow)), ANALYST) as client:
        async def all_breached():
            return (await redis_client.xlen(topology.sla_breaches)) >= 40 and not (
                await redis_client.zcard(topology.sla_watch))
        await eventually(all_breached, timeout=15, what="every breach")

        async def all_recorded():
            gap = (await client.get("/v1/gap")).json()
            return gap if gap["slaBreaches"] >= 30 + 10 else None  # 30 first, 10 second breaches
        gap = await eventually(all_recorded, what="every breach in the ledger")
    breaches = await stream_events(redis_client, topology.sla_breaches)
    per_case = Counter((b["report_id"], b["level"]) for b in breaches)
    assert max(per_case.values()) == 1, [k for k, n in per_case.items() if n > 1]
    expected = {(i, 1) for i in range(1, 41) if lanes[i % 4] != "informational"}
    expected |= {(i, 2) for i in range(1, 41) if lanes[i % 4] == "p1"}
    assert set(per_case) == expected
    assert gap_before["slaBreaches"] < gap["slaBreaches"] == len(expected)
    assert gap["dark"] == 30  # every case with an SLA, none acknowledged


async def _has(redis, stream: str, n: int) -> bool:
    return await redis.xlen(stream) >= n


WA = AGENCY


async def route_three_cases(redis_client, topology, second_lane: str = "p2") -> None:
    """Reports 1 and 2 handed to icac-wa, report 3 to icac-oh."""
    await redis_client.xadd(topology.routed, encode(routed(1, "icac-wa", "p2")))
    await redis_client.xadd(topology.routed, encode(routed(2, "icac-wa", second_lane)))
    await redis_client.xadd(topology.routed, encode(routed(3, "icac-oh", "p2")))


async def wa_queue_of_two(client) -> dict:
    """icac-wa's open queue once the tracker has recorded both of its cases."""
    async def queued():
        r = await client.get("/v1/agencies/icac-wa/cases", headers=WA)
        return r.json() if r.status_code == 200 and r.json()["total"] == 2 else None
    return await eventually(queued, what="icac-wa's queue")


async def test_an_agency_acknowledges_over_http_and_the_ledger_follows(
    make_settings, topology, redis_client
):
    await route_three_cases(redis_client, topology, second_lane="p3")
    async with running(tracker_app(make_settings(TrackerSettings, **SLA)), ANALYST) as client:
        queue = await wa_queue_of_two(client)
        ack = await client.post("/v1/agencies/icac-wa/cases/1/responses", headers=WA,
                                json={"status": "acknowledged"})
        outcome_first = await client.post("/v1/agencies/icac-wa/cases/2/responses", headers=WA,
                                          json={"status": "outcome", "outcome": "arrest made"})

        async def recorded():
            gap = (await client.get("/v1/gap")).json()
            row = next((r for r in gap["byAgency"] if r["name"] == "icac-wa"), None)
            return gap if row and row["acknowledged"] == 2 and row["outcomeKnown"] == 1 else None
        gap = await eventually(recorded, what="the responses recorded")
        again = await client.post("/v1/agencies/icac-wa/cases/1/responses", headers=WA,
                                  json={"status": "acknowledged"})
        timeline = (await client.get("/v1/reports/1")).json()
        acked_queue = (await client.get("/v1/agencies/icac-wa/cases?status=acknowledged",
                                        headers=WA)).json()
        open_queue = (await client.get("/v1/agencies/icac-wa/cases", headers=WA)).json()
        wrong_key = await client.get("/v1/agencies/icac-wa/cases",
                                     headers={"Authorization": "Bearer nope"})
        others_case = await client.post("/v1/agencies/icac-wa/cases/3/responses", headers=WA,
                                        json={"status": "acknowledged"})
        others_queue = await client.get("/v1/agencies/icac-oh/cases", headers=WA)
        analyst_posts = await client.post("/v1/agencies/icac-wa/cases/1/responses",
                                          json={"status": "acknowledged"})
        bad_outcome = await client.post("/v1/agencies/icac-wa/cases/1/responses", headers=WA,
                                        json={"status": "outcome", "outcome": "solved it"})
    assert [c["reportId"] for c in queue["cases"]] == [1, 2]  # oldest first
    assert ack.status_code == 202 and ack.json()["published"] == ["acknowledged"]
    assert outcome_first.json()["published"] == ["acknowledged", "outcome"]
    assert again.status_code == 202 and again.json()["published"] == []
    assert "acknowledged" in [s["stage"] for s in timeline["stages"]]
    [handoff] = timeline["handoffs"]
    assert handoff["agency"] == "icac-wa" and handoff["acknowledgedAt"]
    assert acked_queue["total"] == 2 and open_queue["total"] == 0
    assert gap["offers"]["taken"] == 0
    assert wrong_key.status_code == 401 and others_case.status_code == 404
    assert others_queue.status_code == 403 and analyst_posts.status_code == 401
    assert bad_outcome.status_code == 422


async def test_an_agency_reads_the_report_of_its_case_from_the_one_stored_copy(
    make_settings, topology, redis_client
):
    report = FiledReport.model_validate(synthetic_report("referral", 1))
    await publish_submitted(redis_client, topology, 1, report)
    await publish_submitted(redis_client, topology, 2, report)
    await route_three_cases(redis_client, topology)
    async with running(tracker_app(make_settings(TrackerSettings, **SLA)), ANALYST) as client:
        await wa_queue_of_two(client)
        mine = await client.get("/v1/agencies/icac-wa/cases/1/report", headers=WA)
        as_analyst = await client.get("/v1/agencies/icac-wa/cases/1/report")
        not_mine = await client.get("/v1/agencies/icac-wa/cases/3/report", headers=WA)
        others = await client.get("/v1/agencies/icac-oh/cases/3/report", headers=WA)
        await redis_client.delete(topology.report_body(2))
        expired = await client.get("/v1/agencies/icac-wa/cases/2/report", headers=WA)
    assert mine.status_code == 200 and FiledReport.model_validate(mine.json()) == report
    assert as_analyst.status_code == 403  # an analyst reads the ledger, never a body
    assert not_mine.status_code == 404 and others.status_code == 403
    assert expired.status_code == 410


async def test_the_body_of_a_report_is_kept_while_a_case_of_it_is_open(
    make_settings, topology, redis_client
):
    report = FiledReport.model_validate(synthetic_report("referral", 1))
    for report_id in (1, 2):
        await publish_submitted(redis_client, topology, report_id, report)
    await route_three_cases(redis_client, topology)  # report 3 has no stored body
    ttl = 3600
    settings = make_settings(TrackerSettings, **SLA, report_body_ttl_s=ttl)
    app = tracker_app(settings)
    async with running(app, ANALYST) as client:
        await wa_queue_of_two(client)
        ack = await client.post("/v1/agencies/icac-wa/cases/2/responses", headers=WA,
                                json={"status": "acknowledged"})

        async def acknowledged():
            r = await client.get("/v1/agencies/icac-wa/cases", headers=WA)
            return r.json()["total"] == 1 or None
        await eventually(acknowledged, what="case 2 acknowledged")
        # both bodies near the end of their lifetime, their cases handed half a lifetime ago
        for report_id in (1, 2):
            await redis_client.expire(topology.report_body(report_id), 5)
        keeper = BodyKeeper(LedgerReads(redis_client, topology, settings.policy()),
                            ReportBodies(redis_client, topology, ttl), SYSTEM)
        too_soon = await keeper.keep_once()
        later = time.time() + ttl / 2 + 1
        kept = await keeper.keep_once(at=later)
        ttls = [await redis_client.ttl(topology.report_body(i)) for i in (1, 2)]
        await redis_client.expire(topology.report_body(1), 3 * ttl)
        await keeper.keep_once(at=later)
        longer = await redis_client.ttl(topology.report_body(1))
        open_case = await client.get("/v1/agencies/icac-wa/cases/1/report", headers=WA)
    assert ack.status_code == 202
    assert too_soon == 0 and kept == 1
    assert ttls[0] > ttl - 60  # its case is open: kept a lifetime more
    assert 0 < ttls[1] <= 5  # every case acknowledged: left to expire
    assert longer > 2 * ttl  # never shortened
    assert open_case.status_code == 200
