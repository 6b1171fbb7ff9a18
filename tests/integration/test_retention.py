"""Stream retention against a real Redis: only what every group has finished with goes."""

import time

import pytest

from services.tracker.app import create_app as tracker_app
from services.tracker.config import TrackerSettings
from services.triage.app import create_app as triage_app
from services.triage.config import TriageSettings
from shared.retention import trim
from shared.schemas.report import FiledReport
from shared.synthetic import synthetic_report
from tests.helpers import eventually, publish_submitted, running

pytestmark = pytest.mark.integration


async def test_entries_go_only_when_every_group_is_done_with_them(redis_client, test_id):
    stream = f"retention-{test_id}"
    await redis_client.xgroup_create(stream, "fast", id="0", mkstream=True)
    await redis_client.xgroup_create(stream, "slow", id="0")
    ids = [await redis_client.xadd(stream, {"n": i}) for i in range(10)]

    # fast has read and acknowledged everything; slow has read nothing
    await redis_client.xreadgroup("fast", "c", {stream: ">"}, count=10)
    await redis_client.xack(stream, "fast", *ids)
    assert await trim(redis_client, stream, retention_s=0, now=time.time()) == 0

    # slow reads six and acknowledges the first four: two stay pending
    await redis_client.xreadgroup("slow", "c", {stream: ">"}, count=6)
    await redis_client.xack(stream, "slow", *ids[:4])
    assert await trim(redis_client, stream, retention_s=0, now=time.time()) == 4
    remaining = [entry_id for entry_id, _ in await redis_client.xrange(stream)]
    assert remaining == ids[4:]

    # everything read and acknowledged: all but nothing newer than the retention period goes
    await redis_client.xreadgroup("slow", "c", {stream: ">"}, count=10)
    await redis_client.xack(stream, "slow", *ids)
    assert await trim(redis_client, stream, retention_s=3600, now=time.time()) == 0
    assert await trim(redis_client, stream, retention_s=0, now=time.time()) == 6
    assert await redis_client.xlen(stream) == 0


async def test_a_stream_without_groups_is_left_alone(redis_client, test_id):
    stream = f"retention-{test_id}"
    await redis_client.xadd(stream, {"n": 1})
    assert await trim(redis_client, stream, retention_s=0, now=time.time()) == 0
    assert await redis_client.xlen(stream) == 1


async def test_services_trim_a_lane_once_every_reader_is_done(make_settings, topology, redis_client):
    quick = dict(stream_retention_s=0, trim_interval_s=0.1)
    lane = topology.submitted["standard"]
    for i in range(1, 21):
        report = FiledReport.model_validate(synthetic_report("referral", i))
        await publish_submitted(redis_client, topology, i, report, esp="e")

    async with running(triage_app(make_settings(TriageSettings, **quick))):
        await eventually(lambda: _triaged(redis_client, topology, 20), what="20 triaged")
        # what the janitor does at each round trims nothing: the tracker has not read the lane
        assert await trim(redis_client, lane, retention_s=0, now=time.time()) == 0
        assert await redis_client.xlen(lane) == 20
        async with running(tracker_app(make_settings(TrackerSettings, **quick))):
            async def trimmed():
                return await redis_client.xlen(lane) == 0
            await eventually(trimmed, what="the lane trimmed once the tracker had read it")
    # the tracker still has every report
    assert int(await redis_client.hget(topology.gap_totals, "submitted")) == 20


async def _triaged(redis, topology, n: int) -> bool:
    return sum([await redis.xlen(s) for s in topology.triaged.values()]) >= n
