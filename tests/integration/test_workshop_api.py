"""The tracker's workshop API against a real Redis: faults set, listed and cleared by an admin,
refused when nothing would carry them out, expiring on their own; poison entries; the banner
and the simulated clock."""

import json

import pytest

from services.tracker.app import create_app
from services.tracker.config import TrackerSettings
from tests.helpers import ADMIN, ANALYST, eventually, running

pytestmark = pytest.mark.integration


async def test_faults_are_set_listed_cleared_and_refused_when_nothing_would_do_them(
        make_settings, topology, redis_client):
    async with running(create_app(make_settings(TrackerSettings)), ADMIN) as client:
        set_ = await client.put("/v1/faults/slow/triage", json={"value": 250})
        assert set_.status_code == 200 and set_.json()["until"] is None
        assert set_.json()["lookFor"].startswith("the pipeline view")
        listed = (await client.get("/v1/faults", headers=ANALYST)).json()
        assert [(f["kind"], f["target"], f["value"]) for f in listed] == [("slow", "triage", 250)]
        assert (await client.put("/v1/faults/slow/triage", json={"value": 5},
                                 headers=ANALYST)).status_code == 401  # admins set faults

        for path, body, why in [
            ("/v1/faults/fail/router", {"value": 2}, "between 0.0001 and 1"),
            ("/v1/faults/silent/icac-wa", {}, "played by the simulator"),  # people play it
        ]:
            r = await client.put(path, json=body)
            assert r.status_code == 422 and why in r.json()["detail"], r.text
        melt = await client.put("/v1/faults/melt/triage", json={"value": 1})
        assert melt.status_code == 404  # no such kind: no such resource
        boolean = await client.put("/v1/faults/slow/triage", json={"value": True})
        assert boolean.status_code == 422, boolean.text  # a number is a number: true is not 1

        # kill, pause and redis-down need a `tipline up` to carry them out
        refused = await client.put("/v1/faults/kill/router", json={"value": 5})
        assert refused.status_code == 409 and "tipline up" in refused.json()["detail"]
        assert not (await client.get("/v1/clock", headers=ANALYST)).json()["supervised"]
        await redis_client.set(topology.supervisor, json.dumps({"pid": 1, "ownsRedis": True}),
                               ex=5)
        assert (await client.put("/v1/faults/kill/router", json={"value": 5})).status_code == 200
        assert (await client.get("/v1/clock", headers=ANALYST)).json()["supervised"]

        # a fault given seconds goes by itself
        await client.put("/v1/faults/capacity/icac-oh", json={"value": 0.1, "seconds": 0.3})
        await eventually(lambda: _kinds(client, {"slow", "kill"}), what="the timed fault gone")
        assert (await client.delete("/v1/faults/slow")).json() == {"cleared": 1}
        assert (await client.delete("/v1/faults")).json()["cleared"] >= 1
        assert (await client.get("/v1/faults")).json() == []


async def _kinds(client, wanted: set[str]) -> bool:
    return {f["kind"] for f in (await client.get("/v1/faults")).json()} == wanted


async def test_poison_is_written_only_on_the_stacks_streams(make_settings, topology,
                                                           redis_client):
    async with running(create_app(make_settings(TrackerSettings)), ADMIN) as client:
        r = await client.post("/v1/faults/poison", json={"stream": topology.triaged["p2"],
                                                         "count": 2})
        assert r.status_code == 200 and r.json()["written"] == 2
        assert await redis_client.xlen(topology.triaged["p2"]) == 2
        elsewhere = await client.post("/v1/faults/poison", json={"stream": "not:ours"})
        assert elsewhere.status_code == 422


async def test_the_banner_and_the_clock(make_settings, topology):
    settings = make_settings(TrackerSettings, sim_seconds_per_hour=3600)  # an hour an hour
    async with running(create_app(settings), ADMIN) as client:
        assert (await client.get("/v1/scenario")).json() is None
        shown = {"name": "x", "title": "X", "step": "the second", "index": 2, "of": 3}
        assert (await client.put("/v1/scenario", json=shown)).status_code == 200
        assert (await client.get("/v1/scenario", headers=ANALYST)).json()["step"] == "the second"
        assert (await client.put("/v1/scenario", json={**shown, "index": -1})).status_code == 422
        await client.delete("/v1/scenario")
        assert (await client.get("/v1/scenario")).json() is None
        clock = (await client.get("/v1/clock", headers=ANALYST)).json()
        assert clock["day"] == 1 and clock["text"] == f"day 1, {clock['time']}"
        assert clock["time"] == "00:00" and clock["secondsPerHour"] == 3600
