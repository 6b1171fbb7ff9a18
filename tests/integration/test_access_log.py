"""The access log of report bodies against a real Redis: each read through each allowed route
writes one entry before the body is served, a refused or failed read writes none, no entry holds
a personal value, the log pages newest first and stays bounded, and a report's reads are on its
timeline."""

import json
import time
from datetime import datetime

import pytest

from services.tracker.access_log import AccessLog
from services.tracker.app import create_app as tracker_app
from services.tracker.config import TrackerSettings
from services.tracker.contract import ReportBodyRead, contract
from shared import devkeys
from shared.publishing import Publisher
from shared.schemas.events import ReportRouted
from shared.schemas.report import FiledReport
from shared.synthetic import synthetic_report
from shared.wire import encode
from tests.helpers import (
    ADMIN,
    AGENCY,
    ANALYST,
    eventually,
    found_in,
    personal_values,
    publish_submitted,
    running,
)

pytestmark = pytest.mark.integration

WA = devkeys.PLAYED_AGENCY
OTHER = {"Authorization": "Bearer access-oh-agency-key-not-secret"}


def routed(report_id: int, agency: str) -> ReportRouted:
    return ReportRouted(report_id=report_id, producer="test", esp="esp-a", agency_id=agency,
                        jurisdiction="US-WA", basis="estimatedLocation", confidence=1.0,
                        priority=2, lane="p2")


def settings_for(make_settings, **overrides) -> TrackerSettings:
    return make_settings(TrackerSettings, agency_keys=f"{devkeys.AGENCY_KEYS},icac-oh:"
                         "access-oh-agency-key-not-secret", **overrides)


async def handed(client, *report_ids: int) -> None:
    async def recorded():
        for report_id in report_ids:
            r = await client.get(f"/v1/reports/{report_id}", headers=ANALYST)
            if r.status_code != 200 or not r.json()["handoffs"]:
                return False
        return True
    await eventually(recorded, what=f"reports {report_ids} handed")


async def everything_recorded(redis, topology) -> str:
    """Every entry of the access log and of every report's reads, raw, as text."""
    raw = [fields for _, fields in await redis.xrange(topology.access_log)]
    async for key in redis.scan_iter(match=topology.report_reads("*")):
        raw += await redis.lrange(key, 0, -1)
    return repr(raw)


async def test_each_read_of_a_body_writes_one_entry_and_no_entry_holds_a_personal_value(
    make_settings, topology, redis_client
):
    filed = synthetic_report("referral", 11)
    secrets = personal_values([filed])
    assert len(secrets) >= 3  # the check below would prove nothing without them
    report = FiledReport.model_validate(filed)
    await publish_submitted(redis_client, topology, 1, report)
    await redis_client.xadd(topology.routed, encode(routed(1, WA)))
    await redis_client.xadd(topology.routed, encode(routed(3, WA)))  # no body stored for 3
    started = time.time()
    async with running(tracker_app(settings_for(make_settings))) as client:
        await handed(client, 1, 3)
        by_agency = await client.get(f"/v1/agencies/{WA}/cases/1/report", headers=AGENCY)
        after_agency = await redis_client.xlen(topology.access_log)
        by_admin = await client.get("/v1/reports/1/body?reason=unassigned-review", headers=ADMIN)
        after_admin = await redis_client.xlen(topology.access_log)
        refused = [
            await client.get(f"/v1/agencies/{WA}/cases/1/report", headers=ANALYST),
            await client.get(f"/v1/agencies/{WA}/cases/1/report", headers=ADMIN),
            await client.get(f"/v1/agencies/{WA}/cases/1/report", headers=OTHER),
            await client.get("/v1/agencies/icac-oh/cases/1/report", headers=OTHER),  # not its case
            await client.get("/v1/reports/1/body?reason=legal-process", headers=ANALYST),
            await client.get("/v1/reports/1/body", headers=ADMIN),
            await client.get("/v1/reports/1/body?reason=curiosity", headers=ADMIN),
            await client.get(f"/v1/agencies/{WA}/cases/3/report", headers=AGENCY),  # gone
            await client.get("/v1/reports/3/body?reason=legal-process", headers=ADMIN),  # gone
            await client.get("/v1/reports/4/body?reason=legal-process", headers=ADMIN),  # none
        ]
        log = await client.get("/v1/access-log", headers=ADMIN)
        timeline = await client.get("/v1/reports/1", headers=ANALYST)
    assert by_agency.status_code == 200 and FiledReport.model_validate(by_agency.json()) == report
    assert by_admin.status_code == 200 and FiledReport.model_validate(by_admin.json()) == report
    assert (after_agency, after_admin) == (1, 2)  # one entry per read, written with it
    assert [r.status_code for r in refused] == [403, 403, 403, 404, 401, 422, 422, 410, 410, 404]
    entries = log.json()
    assert [(e["who"], e["role"], e["route"], e["reason"], e["reportId"]) for e in entries] == [
        (devkeys.ADMIN, "admin", "admin-body", "unassigned-review", 1),
        (WA, "agency", "agency-case", None, 1)]
    for entry in entries:
        assert started - 1 <= datetime.fromisoformat(entry["at"]).timestamp() <= time.time() + 1
    reads = [s for s in timeline.json()["stages"] if s["stage"] == "read"]
    assert [(s["agency"], s["detail"]) for s in reads] == [
        (WA, {"who": WA, "role": "agency", "route": "agency-case"}),
        (None, {"who": devkeys.ADMIN, "role": "admin", "route": "admin-body",
                "reason": "unassigned-review"})]
    recorded = await everything_recorded(redis_client, topology)
    assert "agency-case" in recorded and "admin-body" in recorded
    assert found_in(secrets, recorded + log.text + timeline.text) == []
    assert found_in(secrets, "".join(r.text for r in refused)) == []


async def test_a_body_whose_read_cannot_be_recorded_is_not_served(
    make_settings, topology, redis_client
):
    filed = synthetic_report("referral", 12)
    await publish_submitted(redis_client, topology, 1, FiledReport.model_validate(filed))
    await redis_client.xadd(topology.routed, encode(routed(1, WA)))
    async with running(tracker_app(settings_for(make_settings))) as client:
        await handed(client, 1)
        await redis_client.set(topology.access_log, b"not a stream")  # every append now fails
        by_agency = await client.get(f"/v1/agencies/{WA}/cases/1/report", headers=AGENCY)
        by_admin = await client.get("/v1/reports/1/body?reason=legal-process", headers=ADMIN)
        await redis_client.delete(topology.access_log)
        again = await client.get(f"/v1/agencies/{WA}/cases/1/report", headers=AGENCY)
    for refused in (by_agency, by_admin):
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert "access log" in refused.json()["detail"]
        assert found_in(personal_values([filed]), refused.text) == []
    assert again.status_code == 200  # recorded once the log can be written again
    assert await redis_client.xlen(topology.access_log) == 1
    assert len(await redis_client.lrange(topology.report_reads(1), 0, -1)) == 1


async def test_the_access_log_pages_newest_first_and_stays_bounded(
    make_settings, topology, redis_client
):
    for report_id in (1, 2):
        await publish_submitted(redis_client, topology, report_id,
                                FiledReport.model_validate(synthetic_report("referral", report_id)))
    await redis_client.xadd(topology.routed, encode(routed(1, WA)))
    settings = settings_for(make_settings, access_log_per_report=3)
    async with running(tracker_app(settings)) as client:
        await handed(client, 1)
        for _ in range(5):
            assert (await client.get(f"/v1/agencies/{WA}/cases/1/report",
                                     headers=AGENCY)).status_code == 200
        assert (await client.get("/v1/reports/2/body?reason=routing-review",
                                 headers=ADMIN)).status_code == 200
        first = (await client.get("/v1/access-log?limit=4", headers=ADMIN)).json()
        second = (await client.get(f"/v1/access-log?limit=4&before={first[-1]['id']}",
                                   headers=ADMIN)).json()
        reads = [s for s in (await client.get("/v1/reports/1", headers=ANALYST)).json()["stages"]
                 if s["stage"] == "read"]
        by_analyst = await client.get("/v1/access-log", headers=ANALYST)
        edges = [await client.get(f"/v1/{listing}?before={before}", headers=ADMIN)
                 for listing in ("access-log", "dead-letters")
                 for before in ("0-0", "99999999999999999999-0")]
    assert [e["reportId"] for e in first] == [2, 1, 1, 1] and len(second) == 2
    ids = [e["id"] for e in first + second]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))), reverse=True)
    assert len(set(ids)) == 6
    assert len(reads) == 3  # the report's newest reads, per TIPLINE_ACCESS_LOG_PER_REPORT
    assert [s["at"] for s in reads] == sorted(s["at"] for s in reads)
    assert by_analyst.status_code == 401
    # nothing is older than 0-0; everything is older than an id beyond Redis's range
    assert [r.status_code for r in edges] == [200] * 4
    assert [len(r.json()) for r in edges[:2]] == [0, 6]
    # the log itself keeps its newest TIPLINE_ACCESS_LOG_MAX_ENTRIES (approximately: Redis trims
    # whole nodes of a stream)
    store = AccessLog(redis_client, topology, Publisher(contract(topology)), max_entries=1000,
                      per_report=3)
    read = ReportBodyRead(report_id=2, who="admin", role="admin", route="admin-body",
                          reason="data-quality-review", at=datetime.fromisoformat(first[0]["at"]))
    for _ in range(1500):
        assert await store.read_body(read) is not None
    assert 1000 <= await redis_client.xlen(topology.access_log) < 1200
    assert len(await redis_client.lrange(topology.report_reads(2), 0, -1)) == 3
    assert json.loads((await redis_client.lrange(topology.report_reads(2), -1, -1))[0])[
        "reason"] == "data-quality-review"
