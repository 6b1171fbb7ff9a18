"""Intake under pressure, against a real Redis: what one request may cost, Redis going away,
a full lane, abandoned uploads, content types, and the OpenAPI document that says all of it."""

import asyncio
import json

import pytest
import redis.asyncio as aioredis

from services.intake.app import app_for, bootstrap, create_app
from services.intake.config import IntakeSettings
from services.intake.store import LaneBacklog
from shared.synthetic import synthetic_report
from tests.helpers import ESP, CuttingProxy, running
from tipline.stack import RedisServer

pytestmark = pytest.mark.integration

KEY = ESP


async def published(redis, topology) -> int:
    return sum([await redis.xlen(s) for s in topology.submitted.values()])


async def test_a_report_with_a_hundred_thousand_files_gets_a_short_422(make_settings, topology,
                                                                        redis_client):
    report = synthetic_report("referral")
    report["files"] = [{} for _ in range(100_000)]
    body = json.dumps(report).encode()
    many_errors = synthetic_report("referral")
    many_errors["files"] = [{"fileName": "x"} for _ in range(500)]  # each lacks its hashes
    async with running(create_app(make_settings(IntakeSettings))) as client:
        r = await client.post("/v1/reports", content=body,
                              headers={**KEY, "Content-Type": "application/json"})
        capped = await client.post("/v1/reports", json=many_errors, headers=KEY)
        batch = await client.post("/v1/reports/batch", headers=KEY,
                                  json={"reports": [report, many_errors]})
    assert r.status_code == 422 and len(r.content) < 2000
    assert r.json()["detail"][0]["loc"] == ["files"] and r.json()["detail"][0]["type"] == "too_long"
    assert capped.status_code == 422
    assert len(capped.json()["detail"]) == 20 and capped.json()["errorCount"] == 500
    assert batch.status_code == 200 and len(batch.content) < 20_000
    assert [x["errorCount"] for x in batch.json()["results"]] == [1, 500]
    assert await published(redis_client, topology) == 0


async def test_a_batch_over_its_report_count_is_refused_before_its_reports_are_read(
    make_settings, topology, redis_client
):
    reports = [synthetic_report("referral", i) for i in range(3)] + ["not even a report"] * 5000
    async with running(create_app(make_settings(IntakeSettings, max_batch_reports=2))) as client:
        r = await client.post("/v1/reports/batch", json={"reports": reports}, headers=KEY)
    assert r.status_code == 422
    assert r.json()["errorCount"] == 1 and r.json()["detail"][0]["loc"] == ["reports"]
    assert await published(redis_client, topology) == 0


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_a_body_that_is_not_json_is_415(make_settings, topology, redis_client, content_type):
    headers = {**KEY, **({"Content-Type": content_type} if content_type else {})}
    async with running(create_app(make_settings(IntakeSettings))) as client:
        r = await client.post("/v1/reports", content=json.dumps(synthetic_report("referral")),
                              headers=headers)
    assert r.status_code == 415 and "application/json" in r.json()["detail"]
    assert await published(redis_client, topology) == 0


async def _call(app, body_parts: list[bytes], then: str = "disconnect",
                pause_s: float = 0.0) -> list[dict]:
    """Call the app as a server would, with the body arriving in parts and the client then going
    away (or stalling); return what the app sent."""
    sent: list[dict] = []
    parts = list(body_parts)

    async def receive() -> dict:
        if parts:
            return {"type": "http.request", "body": parts.pop(0), "more_body": True}
        if then == "stall":
            await asyncio.sleep(pause_s)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/reports", "raw_path": b"/v1/reports",
             "query_string": b"", "root_path": "", "server": ("test", 80), "client": ("c", 1),
             "headers": [(b"authorization", ESP["Authorization"].encode()),
                         (b"content-type", b"application/json"), (b"content-length", b"9000")]}
    await app(scope, receive, send)
    return sent


async def test_an_abandoned_upload_ends_quietly_and_publishes_nothing(make_settings, topology,
                                                                      redis_client, caplog):
    app = create_app(make_settings(IntakeSettings))
    async with running(app):
        sent = await _call(app, [b'{"incidentSummary": {"incidentType": "Chi'])
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    assert start["status"] == 400
    assert "Traceback" not in caplog.text and "Exception in ASGI" not in caplog.text
    assert await published(redis_client, topology) == 0


async def test_a_body_that_never_finishes_arriving_is_408(make_settings, topology, redis_client):
    app = create_app(make_settings(IntakeSettings, http_body_timeout_s=0.2))
    async with running(app):
        sent = await _call(app, [b'{"incid'], then="stall", pause_s=5)
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    assert start["status"] == 408


async def test_redis_away_is_503_with_retry_after_and_nothing_half_published(
    make_settings, topology, tmp_path
):
    server = RedisServer(tmp_path / "redis").start()
    try:
        app = create_app(make_settings(IntakeSettings, redis_url=server.url))
        reports = {"reports": [synthetic_report("referral", i) for i in range(100)]}
        async with running(app) as client:
            server.stop(kill=True)
            r = await client.post("/v1/reports/batch", json=reports, headers=KEY)
            single = await client.post("/v1/reports", json=synthetic_report("referral"),
                                       headers=KEY)
            server.start()
            ready = await client.get("/readyz")
        assert r.status_code == 503 and r.headers["Retry-After"] == "2"
        assert single.status_code == 503 and "unavailable" in single.json()["detail"]
        assert ready.status_code == 200
        direct = aioredis.Redis.from_url(server.url)
        assert await published(direct, topology) == 0
        await direct.aclose()
    finally:
        server.stop()


async def test_a_batch_cut_off_mid_command_publishes_none_of_it(make_settings, topology,
                                                                 redis_client, redis_url):
    """The batch is one script: the connection lost in the middle of it publishes nothing."""
    port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    reports = {"reports": [synthetic_report("referral", i) for i in range(100)]}
    async with CuttingProxy(port, after=20_000, marker=b"EVALSHA") as proxy:
        app = create_app(make_settings(IntakeSettings,
                                       redis_url=f"redis://127.0.0.1:{proxy.port}/0"))
        async with running(app) as client:
            r = await client.post("/v1/reports/batch", json=reports, headers=KEY)
    assert proxy.cut, "the proxy never saw the script's call"
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    assert await published(redis_client, topology) == 0


async def test_a_full_lane_refuses_more_with_503(make_settings, topology, redis_client):
    settings = make_settings(IntakeSettings, max_lane_backlog=3)
    # the backlog read afresh for every question (in service, at most once a second)
    fresh = LaneBacklog(redis_client, topology, 3, max_age_s=0)
    async with running(app_for(bootstrap(settings, backlogs=fresh))) as client:
        first = [await client.post("/v1/reports", json=synthetic_report("referral", i),
                                   headers=KEY) for i in range(3)]
        fourth = await client.post("/v1/reports", json=synthetic_report("referral", 4), headers=KEY)
        urgent = await client.post("/v1/reports", json=synthetic_report("escalated"), headers=KEY)
    assert [r.status_code for r in first] == [202, 202, 202]
    assert fourth.status_code == 503 and "standard lane" in fourth.json()["detail"]
    assert urgent.status_code == 202
    assert await redis_client.xlen(topology.submitted["standard"]) == 3


async def test_the_openapi_document_declares_bodies_security_and_errors(make_settings):
    async with running(create_app(make_settings(IntakeSettings))) as client:
        doc = (await client.get("/openapi.json")).json()
    single = doc["paths"]["/v1/reports"]["post"]
    batch = doc["paths"]["/v1/reports/batch"]["post"]
    ref = single["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/FiledReport" and "FiledReport" in doc["components"]["schemas"]
    assert "IncidentSummary" in doc["components"]["schemas"]
    assert batch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "BatchRequest")
    assert doc["components"]["securitySchemes"]["EspKey"]["scheme"] == "bearer"
    assert single["security"] == [{"EspKey": []}]
    for code in ("401", "413", "415", "422", "503"):
        assert "$ref" in str(single["responses"][code]["content"]), code
