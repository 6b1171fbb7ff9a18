"""Triage and its lanes against a real Redis: urgent first under a flood, viral bundles."""

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from services.router.app import create_app as router_app
from services.router.config import RouterSettings
from services.triage.app import create_app as triage_app
from services.triage.config import TriageSettings
from shared.schemas.facts import RoutingFacts
from shared.schemas.report import MAX_FILES, MAX_HASHES_PER_FILE, FiledReport
from shared.wire import encode
from tests.helpers import (
    entry_ids,
    eventually,
    has_entries,
    last_id,
    publish_submitted,
    queue_submitted,
    running,
    stream_events,
)
from tests.report_builder import build, file

pytestmark = pytest.mark.integration


def report(**spec) -> FiledReport:
    return FiledReport.model_validate(build(**spec))


def entry_order(entry_id: bytes) -> tuple[int, int]:
    ms, seq = entry_id.decode().split("-")
    return int(ms), int(seq)


async def test_an_escalated_report_sent_after_a_flood_is_triaged_first(
    make_settings, topology, redis_client
):
    flood = 600
    async with redis_client.pipeline(transaction=False) as pipe:
        for i in range(1, flood + 1):
            queue_submitted(pipe, topology, i, report(annotations={"informational": True}))
        await pipe.execute()
    await publish_submitted(redis_client, topology, flood + 1, report(escalate="Synthetic: urgent"))

    async with running(triage_app(make_settings(TriageSettings))):
        await eventually(lambda: has_entries(redis_client, topology.triaged["informational"], flood),
                         timeout=30, what="the flood triaged")
    [(p1_id, p1_fields)] = await redis_client.xrange(topology.triaged["p1"])
    informational = await redis_client.xrange(topology.triaged["informational"])
    assert b'"report_id":601' in p1_fields[b"data"]
    # Redis stamps every entry from one clock: the p1 entry was written before any of the flood's.
    assert entry_order(p1_id) < min(entry_order(i) for i, _ in informational)


async def test_router_hands_over_priority_one_before_a_backlog(make_settings, topology, redis_client):
    from shared.schemas.events import ActionabilityScore, ReportTriaged, RuleHit

    def triaged(report_id: int, lane: str, priority: int) -> ReportTriaged:
        return ReportTriaged(
            esp="test-esp", report_id=report_id, producer="test", priority=priority, disposition="referral",
            lane=lane, reasons=[RuleHit(rule="t", reason="t")],
            actionability=ActionabilityScore(score=60, missing=[]),
            routing=RoutingFacts.of(report(user=("id",), files=(file(),))))

    for i in range(1, 301):
        await redis_client.xadd(topology.triaged["p3"], encode(triaged(i, "p3", 3)))
    await redis_client.xadd(topology.triaged["p1"], encode(triaged(999, "p1", 1)))
    async with running(router_app(make_settings(RouterSettings))):
        await eventually(lambda: has_entries(redis_client, topology.routed, 301), timeout=30,
                         what="every case routed")
    routed = await stream_events(redis_client, topology.routed)
    assert routed[0]["report_id"] == 999


async def test_viral_reports_sharing_a_hash_are_bundled_and_members_not_routed(
    make_settings, topology, redis_client
):
    shared_file = file("B2", seed="meme-1", viral=True)
    other_file = file("B2", seed="meme-2", potentialMeme=True)
    reports = [
        report(user=("id",), files=(shared_file,)),
        report(user=("id",), files=(shared_file,)),
        report(user=("id",), files=(other_file, shared_file)),
        report(user=("id",), files=(other_file,)),
    ]
    for i, r in enumerate(reports, 1):
        await publish_submitted(redis_client, topology, i, r)
    triage, router = triage_app(make_settings(TriageSettings)), router_app(make_settings(RouterSettings))
    async with running(triage), running(router):
        await eventually(lambda: has_entries(redis_client, topology.triaged["informational"], 4),
                         what="4 triaged")
        await eventually(lambda: has_entries(redis_client, topology.routed, 1), what="routing")
    triaged = {e["report_id"]: e for e in await stream_events(redis_client,
                                                              topology.triaged["informational"])}
    assert triaged[1]["bundle"] == {"bundle_id": "bundle-1", "role": "first"}
    assert triaged[2]["bundle"] == {"bundle_id": "bundle-1", "role": "member"}
    assert triaged[3]["bundle"] == {"bundle_id": "bundle-1", "role": "member"}
    # report 4 shares a hash only with report 3, which joined bundle 1: it joins bundle 1 too
    assert triaged[4]["bundle"]["role"] == "member"
    assert "viral_bundle_member" in [r["rule"] for r in triaged[2]["reasons"]]
    routed = await stream_events(redis_client, topology.routed)
    assert [e["report_id"] for e in routed] == [1]


def pathological() -> FiledReport:
    """Valid, and as costly as a report may be: the most files, each with the most hashes, every
    one of them on the known list."""
    known = [f"{'0' * 28}a{i:03d}" for i in range(1, 21)]
    files = [{"originalFileHash": [{"hashType": "MD5", "value": known[(i + j) % 20]}
                                   for j in range(MAX_HASHES_PER_FILE)],
              "industryClassification": "A1"} for i in range(MAX_FILES)]
    return report(files=tuple(files))


@pytest.fixture
async def patient_client(redis_url: str, redis_client: aioredis.Redis
                         ) -> AsyncIterator[aioredis.Redis]:
    """The test's own reads, in the event loop triage's CPU-bound chunks hold: a loaded machine
    can hold it past redis-py's 5 s socket timeout, which is no failure of triage's."""
    client = aioredis.Redis.from_url(redis_url, socket_timeout=120)
    yield client
    await client.aclose()


async def test_pathological_reports_delay_an_escalated_one_by_at_most_a_chunk(
    make_settings, topology, patient_client
):
    """While triage works through a backlog of the costliest valid reports, an escalated report
    waits at most for the chunk in hand: no more than TIPLINE_PREEMPT_EVERY of them are triaged
    between its arrival and its own triage (Redis's entry ids are the clock)."""
    redis_client = patient_client
    heavy = pathological()
    for i in range(1, 61):
        await publish_submitted(redis_client, topology, i, heavy)
    settings = make_settings(TriageSettings, preempt_every=20)
    async with running(triage_app(settings)):
        await eventually(lambda: has_entries(redis_client, topology.triaged["p3"], 1), timeout=30,
                         what="triage busy with the backlog")
        async with redis_client.pipeline(transaction=True) as pipe:
            queue_submitted(pipe, topology, 999, report(escalate="Synthetic: urgent"))
            _, arrived = await pipe.execute()
        await eventually(lambda: has_entries(redis_client, topology.triaged["p1"], 1), timeout=30,
                         what="the escalated report triaged")
        [(triaged_at, _)] = await redis_client.xrange(topology.triaged["p1"])

        async def some_triaged_after_it() -> bool:
            last = await last_id(redis_client, topology.triaged["p3"])
            return last is not None and entry_order(last) > entry_order(triaged_at)
        await eventually(some_triaged_after_it, timeout=60,
                         what="a report of the backlog triaged after the escalated one")
    heavy_ids = await entry_ids(redis_client, topology.triaged["p3"])
    in_between = [i for i in heavy_ids if entry_order(arrived) < entry_order(i)
                  < entry_order(triaged_at)]
    behind = [i for i in heavy_ids if entry_order(i) > entry_order(triaged_at)]
    assert len(in_between) <= settings.preempt_every
    assert behind, "the escalated report arrived after the whole backlog: nothing was measured"
