"""Intake against a real Redis: auth, validation at the edge, lanes, idempotency, size limit."""

import json

import pytest

from services.intake.app import create_app
from services.intake.config import IntakeSettings
from shared import devkeys
from shared.synthetic import synthetic_report
from tests.helpers import ESP, eventually, running, stored_report, stream_events

pytestmark = pytest.mark.integration

KEY = ESP


async def published(redis, topology) -> int:
    return sum([await redis.xlen(s) for s in topology.submitted.values()])


async def test_a_report_is_numbered_and_published_on_its_lane(make_settings, topology, redis_client):
    async with running(create_app(make_settings(IntakeSettings))) as client:
        first = await client.post("/v1/reports", json=synthetic_report("referral", 1), headers=KEY)
        second = await client.post("/v1/reports", json=synthetic_report("escalated", 2), headers=KEY)
    assert first.status_code == 202 and second.status_code == 202
    assert first.json()["lane"] == "standard" and second.json()["lane"] == "escalated"
    assert second.json()["reportId"] == first.json()["reportId"] + 1
    [standard] = await stream_events(redis_client, topology.submitted["standard"])
    [escalated] = await stream_events(redis_client, topology.submitted["escalated"])
    assert standard["report_id"] == first.json()["reportId"]
    assert standard["esp"] == "example-esp"
    assert "report" not in escalated, "the event carries the report's id, not the report"
    body = await stored_report(redis_client, topology, escalated["report_id"])
    assert body["incidentSummary"]["escalateToHighPriority"]
    assert await redis_client.ttl(topology.report_body(escalated["report_id"])) > 29 * 86400


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": "Basic " + devkeys.ESP_KEY}])
async def test_no_key_or_a_wrong_key_is_401(make_settings, topology, redis_client, headers):
    async with running(create_app(make_settings(IntakeSettings))) as client:
        r = await client.post("/v1/reports", json=synthetic_report("referral"), headers=headers)
    assert r.status_code == 401
    assert await published(redis_client, topology) == 0


def _bad_bodies() -> dict[str, bytes]:
    wrong_type = synthetic_report("referral")
    wrong_type["files"][0]["originalFileHash"] = "not-a-list"
    missing = synthetic_report("referral")
    del missing["incidentSummary"]["incidentDateTime"]
    del missing["reporter"]
    unknown_type = synthetic_report("referral")
    unknown_type["incidentSummary"]["incidentType"] = "Something Else"
    extra = synthetic_report("referral")
    extra["personOrUserReported"]["shoeSize"] = 9
    return {
        "invalid JSON": b'{"incidentSummary": ',
        "wrong types": json.dumps(wrong_type).encode(),
        "missing fields": json.dumps(missing).encode(),
        "unknown incidentType": json.dumps(unknown_type).encode(),
        "unknown field": json.dumps(extra).encode(),
    }


@pytest.mark.parametrize("case", list(_bad_bodies()))
async def test_a_bad_report_is_422_with_field_errors_and_nothing_is_published(
    make_settings, topology, redis_client, case
):
    body = _bad_bodies()[case]
    async with running(create_app(make_settings(IntakeSettings))) as client:
        r = await client.post("/v1/reports", content=body,
                              headers={**KEY, "Content-Type": "application/json"})
    assert r.status_code == 422
    errors = r.json()["detail"]
    assert errors and all({"loc", "msg", "type"} <= set(e) for e in errors)
    locs = [".".join(map(str, e["loc"])) for e in errors]
    expected = {
        "invalid JSON": None,
        "wrong types": "files.0.originalFileHash",
        "missing fields": "incidentSummary.incidentDateTime",
        "unknown incidentType": "incidentSummary.incidentType",
        "unknown field": "personOrUserReported.shoeSize",
    }[case]
    if expected:
        assert expected in locs
    if case == "missing fields":
        assert "reporter" in locs
    assert "example.com" not in r.text  # errors never echo submitted values
    assert await published(redis_client, topology) == 0
    assert await redis_client.get(topology.report_id_counter) is None


async def test_a_retry_with_the_same_idempotency_key_gets_the_same_id_and_publishes_once(
    make_settings, topology, redis_client, test_id
):
    report = synthetic_report("referral", test_id)
    headers = {**KEY, "Idempotency-Key": f"retry-{test_id}"}
    async with running(create_app(make_settings(IntakeSettings))) as client:
        responses = [await client.post("/v1/reports", json=report, headers=headers) for _ in range(3)]
        other = await client.post("/v1/reports", json=synthetic_report("referral", "other"),
                                  headers=headers)
    ids = {r.json()["reportId"] for r in responses}
    assert [r.status_code for r in responses] == [202, 202, 202]
    assert len(ids) == 1
    assert await published(redis_client, topology) == 1
    assert other.status_code == 409


async def test_concurrent_retries_publish_once(make_settings, topology, redis_client, test_id):
    import asyncio

    report = synthetic_report("referral", test_id)
    headers = {**KEY, "Idempotency-Key": f"race-{test_id}"}
    async with running(create_app(make_settings(IntakeSettings))) as client:
        responses = await asyncio.gather(*[
            client.post("/v1/reports", json=report, headers=headers) for _ in range(10)
        ])
    assert {r.status_code for r in responses} == {202}
    assert len({r.json()["reportId"] for r in responses}) == 1
    assert await published(redis_client, topology) == 1


async def test_a_body_over_the_limit_is_413(make_settings, topology, redis_client):
    report = synthetic_report("referral")
    report["additionalInfo"] = "x" * 5000
    async with running(create_app(make_settings(IntakeSettings, max_body_bytes=2048))) as client:
        r = await client.post("/v1/reports", json=report, headers=KEY)
    assert r.status_code == 413
    assert await published(redis_client, topology) == 0


async def test_health_and_readiness(make_settings, topology, redis_client):
    async with running(create_app(make_settings(IntakeSettings))) as client:
        assert (await client.get("/healthz")).json()["status"] == "ok"
        ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True


async def test_a_batch_gets_a_result_per_report_and_publishes_the_valid_ones(
    make_settings, topology, redis_client
):
    bad = synthetic_report("referral", "bad")
    bad["incidentSummary"]["incidentType"] = "Something Else"
    reports = [synthetic_report("referral", 1), bad, synthetic_report("escalated", 2)]
    async with running(create_app(make_settings(IntakeSettings))) as client:
        r = await client.post("/v1/reports/batch", json={"reports": reports}, headers=KEY)
    assert r.status_code == 200
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (2, 1)
    assert [x["status"] for x in body["results"]] == [202, 422, 202]
    assert body["results"][1]["detail"][0]["loc"] == ["incidentSummary", "incidentType"]
    assert body["results"][2]["lane"] == "escalated"
    assert body["results"][2]["reportId"] == body["results"][0]["reportId"] + 1
    assert await published(redis_client, topology) == 2


async def test_a_retried_batch_returns_the_same_ids_and_publishes_once(
    make_settings, topology, redis_client, test_id
):
    reports = [synthetic_report("referral", f"{test_id}-{i}") for i in range(5)]
    headers = {**KEY, "Idempotency-Key": f"batch-{test_id}"}
    async with running(create_app(make_settings(IntakeSettings))) as client:
        first = await client.post("/v1/reports/batch", json={"reports": reports}, headers=headers)
        again = await client.post("/v1/reports/batch", json={"reports": reports}, headers=headers)
        swapped = await client.post("/v1/reports/batch", json={"reports": reports[::-1]},
                                    headers=headers)
    ids = [x["reportId"] for x in first.json()["results"]]
    assert [x["reportId"] for x in again.json()["results"]] == ids
    assert await published(redis_client, topology) == 5
    # report i of a batch is keyed by position: a different report there is a conflict
    assert [x["status"] for x in swapped.json()["results"]] == [409, 409, 202, 409, 409]


async def test_a_malformed_or_oversized_batch_is_refused_whole(make_settings, topology, redis_client):
    async with running(create_app(make_settings(IntakeSettings, max_batch_reports=2))) as client:
        not_a_batch = await client.post("/v1/reports/batch", json=[synthetic_report("referral")],
                                        headers=KEY)
        too_many = await client.post("/v1/reports/batch", headers=KEY, json={
            "reports": [synthetic_report("referral", i) for i in range(3)]})
        no_key = await client.post("/v1/reports/batch", json={"reports": []})
    assert not_a_batch.status_code == 422 and too_many.status_code == 422
    assert no_key.status_code == 401
    assert await published(redis_client, topology) == 0


# ---- synthetic load and a degraded ESP (the workshop) ----

async def test_synthetic_load_is_filed_apart_and_only_by_the_esps_allowed_to_send_it(
        make_settings, topology, redis_client):
    settings = make_settings(IntakeSettings, load_esps="example-esp")
    async with running(create_app(settings)) as client:
        load = await client.post("/v1/reports", json=synthetic_report("referral", 1),
                                 headers={**KEY, "Tipline-Load": "poor-esp"})
        batch = await client.post("/v1/reports/batch", json={"reports": [
            synthetic_report("referral", 2)]}, headers={**KEY, "Tipline-Load": "poor-esp"})
        bad = await client.post("/v1/reports", json=synthetic_report("referral", 3),
                                headers={**KEY, "Tipline-Load": "Not A Profile"})
    assert load.status_code == 202 and batch.status_code == 200, (load.text, batch.text)
    assert bad.status_code == 403 and "load profile" in bad.json()["detail"]
    events = await stream_events(redis_client, topology.submitted["standard"])
    assert [e["esp"] for e in events] == ["load:poor-esp", "load:poor-esp"]

    nobody = make_settings(IntakeSettings, load_esps="someone-else")
    async with running(create_app(nobody)) as client:
        refused = await client.post("/v1/reports", json=synthetic_report("referral", 4),
                                    headers={**KEY, "Tipline-Load": "poor-esp"})
    assert refused.status_code == 403 and "TIPLINE_LOAD_ESPS" in refused.json()["detail"]
    assert len(await stream_events(redis_client, topology.submitted["standard"])) == 2


async def test_a_degraded_esps_reports_arrive_without_their_location(
        make_settings, topology, redis_client):
    from shared.faults import FaultStore, fault

    await FaultStore(redis_client, topology).set(fault("degrade", "load:careful", 1, 0))
    async with running(create_app(make_settings(IntakeSettings))) as client:
        async def degraded_on_arrival():
            r = await client.post("/v1/reports", json=synthetic_report("referral", 5),
                                  headers={**KEY, "Tipline-Load": "careful"})
            body = await stored_report(redis_client, topology, r.json()["reportId"])
            return body if proxies_only(body) else None

        body = await eventually(degraded_on_arrival, what="intake applying the fault")
        other = await client.post("/v1/reports", json=synthetic_report("referral", 6),
                                  headers=KEY)  # another ESP: untouched
    kept = await stored_report(redis_client, topology, other.json()["reportId"])
    assert not proxies_only(kept) and kept["personOrUserReported"]["ipCaptureEvent"]
    assert "address" not in body["personOrUserReported"].get("personOrUserReportedPerson", {})


def proxies_only(body: dict) -> bool:
    """No IP address of the reported user that routing could place (only proxies)."""
    return all(e.get("possibleProxy") for e in body["personOrUserReported"].get(
        "ipCaptureEvent", []))
