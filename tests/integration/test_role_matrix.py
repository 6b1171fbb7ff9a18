"""Every route of the tracker, for every kind of caller, answers what the role matrix says
(tests/role_matrix.py, shown in docs/guarantees.md): a route the matrix does not name fails, and
so does a row naming a route the app does not have. The reads the walk made of report bodies, and
only those, are in the access log."""

import re
import time

import pytest
from fastapi.routing import iter_route_contexts

from services.tracker.app import create_app
from services.tracker.config import TrackerSettings
from shared import devkeys
from shared.auth import SESSION_COOKIE, parse_keys, session_token
from shared.schemas.events import Deconfliction, ReportRouted
from shared.schemas.report import FiledReport
from shared.synthetic import synthetic_report
from shared.wire import encode
from tests.helpers import ANALYST, eventually, publish_submitted, running
from tests.role_matrix import CALLERS, MATRIX, Row

pytestmark = pytest.mark.integration

OTHER_AGENCY, OTHER_KEY = "icac-oh", "walk-oh-agency-key-not-secret"
WRONG_KEY = "walk-wrong-key"
KEY_OF = {"no key": "", "wrong key": WRONG_KEY, "ESP key": devkeys.ESP_KEY,
          "agency": devkeys.AGENCY_KEY, "other agency": OTHER_KEY,
          "analyst": devkeys.ANALYST_KEY, "analyst session": devkeys.ANALYST_KEY,
          "admin": devkeys.ADMIN_KEY, "admin session": devkeys.ADMIN_KEY}


def routed(report_id: int, agency: str, notices: tuple[Deconfliction, ...] = ()
           ) -> ReportRouted:
    return ReportRouted(report_id=report_id, producer="test", esp="esp-a", agency_id=agency,
                        jurisdiction="US-WA", basis="estimatedLocation", confidence=1.0,
                        priority=2, lane="p2", deconfliction=list(notices))


def headers_of(caller: str) -> dict[str, str]:
    if caller.endswith("session"):
        keys = parse_keys(devkeys.ANALYST_KEYS if caller.startswith("analyst")
                          else devkeys.ADMIN_KEYS)
        return {"Cookie": f"{SESSION_COOKIE}={session_token(keys, KEY_OF[caller], time.time())}"}
    return {"Authorization": f"Bearer {KEY_OF[caller]}"} if KEY_OF[caller] else {}


def app_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route, as documented (a path convertor's name left out); HEAD is
    Starlette's own answer to a GET route."""
    return {(method, re.sub(r"\{(\w+):\w+\}", r"{\1}", context.path))
            for context in iter_route_contexts(app.routes)
            for method in getattr(context.original_route, "methods", None) or () if method != "HEAD"}


def request_of(row: Row, caller: str, values: dict, poison_stream: str) -> dict:
    path = row.path.format(**{**values, **row.params})
    request = {"method": row.method, "url": path + (f"?{row.query}" if row.query else ""),
               "headers": headers_of(caller)}
    body = {
        "/v1/agencies/{agency_id}/cases/{report_id}/responses": {"json": {"status": "acknowledged"}},
        "/v1/agencies/{agency_id}/cases/{report_id}/legal-process": {
            "json": {"process": "search-warrant"}},
        "/v1/faults/{kind}/{target}": {"json": {"value": 1, "seconds": 60}},
        "/v1/faults/poison": {"json": {"stream": poison_stream, "count": 1}},
        "/v1/scenario": {"json": {"name": "walk", "title": "the role walk", "step": "one",
                                  "index": 0, "of": 1}},
        "/dashboard/login": {"data": {"key": KEY_OF[caller]}},
    }.get(row.path, {}) if row.method in ("POST", "PUT") else {}
    return {**request, **body}


async def test_every_route_answers_every_caller_as_the_role_matrix_says(
    make_settings, topology, redis_client
):
    report = FiledReport.model_validate(synthetic_report("referral", 7))
    for report_id in (1, 2):
        await publish_submitted(redis_client, topology, report_id, report)
    await redis_client.xadd(topology.routed, encode(routed(1, devkeys.PLAYED_AGENCY)))
    # report 2 is linked to report 1: each agency is told of the other's case
    await redis_client.xadd(topology.routed, encode(routed(2, OTHER_AGENCY, (
        Deconfliction(report_id=1, agency_id=devkeys.PLAYED_AGENCY, other_report_id=2,
                      other_agency_id=OTHER_AGENCY),
        Deconfliction(report_id=2, agency_id=OTHER_AGENCY, other_report_id=1,
                      other_agency_id=devkeys.PLAYED_AGENCY)))))
    await redis_client.xadd(topology.routed, {b"data": b"not an event"})  # a dead letter
    settings = make_settings(TrackerSettings, agency_keys=f"{devkeys.AGENCY_KEYS},"
                             f"{OTHER_AGENCY}:{OTHER_KEY}")
    app = create_app(settings)
    async with running(app) as client:
        async def ready():
            letters = (await client.get("/v1/dead-letters", headers=ANALYST)).json()
            timelines = [(await client.get(f"/v1/reports/{i}", headers=ANALYST)).json()
                         for i in (1, 2)]
            handed = all(any(s["stage"] == "handoff" for s in t.get("stages", []))
                         for t in timelines)
            return letters if letters and handed else None
        [letter] = await eventually(ready, what="both cases handed and the dead letter listed")
        values = {"report_id": 1, "agency_id": devkeys.PLAYED_AGENCY, "letter_id": letter["id"],
                  "kind": "slow", "target": "router", "name": "dashboard.js",
                  "other_report_id": 2}
        wrong = []
        for row in MATRIX:
            for caller, expected in zip(CALLERS, row.statuses, strict=True):
                client.cookies.clear()  # a login's session must not carry over to the next caller
                r = await client.request(**request_of(row, caller, values,
                                                      topology.key("walk-poison")))
                if r.status_code != expected:
                    wrong.append(f"{row.label} as {caller}: {r.status_code}, not {expected}")
        log = (await client.get("/v1/access-log", headers={
            "Authorization": f"Bearer {devkeys.ADMIN_KEY}"})).json()

    covered, served = {(row.method, row.path) for row in MATRIX}, app_routes(app)
    assert not served - covered, f"routes the matrix does not name: {sorted(served - covered)}"
    assert not covered - served, f"rows for no route of the app: {sorted(covered - served)}"
    assert len(wrong) == 0, "\n".join(wrong)
    assert sum(len(row.statuses) for row in MATRIX) == len(MATRIX) * len(CALLERS) > 350
    # two reads of a body were allowed (one per route); nothing refused was recorded
    assert [(e["who"], e["role"], e["route"], e["reason"], e["reportId"]) for e in log] == [
        (devkeys.ADMIN, "admin", "admin-body", "legal-process", 1),
        (devkeys.PLAYED_AGENCY, "agency", "agency-case", None, 1)]
