"""Every answer of the XML reporting API read as a strict client reads it: the documented shape of
`<reportResponse>` and `<reportDoneResponse>` (../shared/docs/cybertipline-api.md, "Response
documents"), element by element, in order, and nothing else, for every endpoint and every code
the sandbox answers."""

from collections.abc import Awaitable, Callable
from xml.etree import ElementTree as ET

import pytest
import redis.asyncio as aioredis
from pydantic import ConfigDict
from pydantic_xml import BaseXmlModel, element

from services.intake.app import app_for, bootstrap, create_app
from services.intake.config import IntakeSettings
from services.intake.ispws import Code
from services.intake.store import LaneBacklog
from tests.helpers import running
from tests.integration.test_ispws import BASIC, Client, field, file_details, report_xml
from tipline.stack import RedisServer

pytestmark = pytest.mark.integration


# ---- the documented shapes, as a client that parses them strictly declares them ----

class StrictReportResponse(BaseXmlModel, tag="reportResponse", search_mode="strict"):
    model_config = ConfigDict(extra="forbid")

    response_code: int = element(tag="responseCode")
    response_description: str = element(tag="responseDescription")
    report_id: int | None = element(tag="reportId", default=None)
    file_id: str | None = element(tag="fileId", default=None)
    hash: str | None = element(tag="hash", default=None)


class StrictFiles(BaseXmlModel, tag="files", search_mode="strict"):
    model_config = ConfigDict(extra="forbid")

    file_id: list[str] = element(tag="fileId", default_factory=list)


class StrictReportDoneResponse(BaseXmlModel, tag="reportDoneResponse", search_mode="strict"):
    model_config = ConfigDict(extra="forbid")

    response_code: int = element(tag="responseCode")
    report_id: int = element(tag="reportId")
    files: StrictFiles


OPTIONAL = ["reportId", "fileId", "hash"]


def strictly(content: bytes) -> StrictReportResponse | StrictReportDoneResponse:
    """The answer read by the documented shape of its root: the element names and their order are
    checked on the tree as well (a strict model alone lets an unknown empty element pass)."""
    root = ET.fromstring(content)
    assert not root.attrib and not (root.text or "").strip(), content
    tags = [child.tag for child in root]
    if root.tag == "reportDoneResponse":
        assert tags == ["responseCode", "reportId", "files"], content
        files = root.find("files")
        assert files is not None and not files.attrib
        assert all(f.tag == "fileId" and not list(f) for f in files), content
        return StrictReportDoneResponse.from_xml(content)
    assert root.tag == "reportResponse", content
    assert tags[:2] == ["responseCode", "responseDescription"], content
    rest = tags[2:]
    assert rest == [t for t in OPTIONAL if t in rest], f"out of order or repeated: {content!r}"
    assert all(not list(child) for child in root), content
    return StrictReportResponse.from_xml(content)


# ---- the scenarios: each endpoint, each code it answers ----

Scenario = Callable[[Client, object], Awaitable[object]]
STRANGER = {"Authorization": "Basic bm9ib2R5Om5vdGhpbmc="}  # nobody:nothing


async def _finished(esp: Client) -> int:
    report_id = await esp.open()
    await esp.upload(report_id, b"synthetic")
    await esp.finish(report_id)
    return report_id


async def _retracted(esp: Client) -> int:
    report_id = await esp.open()
    await esp.retract(report_id)
    return report_id


async def _uploaded(esp: Client) -> tuple[int, str]:
    report_id = await esp.open()
    return report_id, field(await esp.upload(report_id, b"synthetic"), "fileId") or ""


UNKNOWN = 987654321

SCENARIOS: dict[tuple[str, int], Scenario] = {
    ("status", 0): lambda esp, http: http.get("/ispws/status", headers=BASIC),
    ("status", 2000): lambda esp, http: http.get("/ispws/status", headers=STRANGER),
    ("xsd", 2000): lambda esp, http: http.get("/ispws/xsd", headers=STRANGER),
    ("submit", 0): lambda esp, http: esp.submit(report_xml()),
    ("submit", 2000): lambda esp, http: Client(http, STRANGER).submit(report_xml()),
    ("submit", 4000): lambda esp, http: http.post("/ispws/submit", json={}, headers=BASIC),
    ("submit", 4100): lambda esp, http: esp.submit(b"<report><reporter/></report>"),
    ("submit", 4110): lambda esp, http: esp.submit(b"<report>"),
    ("upload", 2000): lambda esp, http: Client(http, STRANGER).upload(1, b"synthetic"),
    ("upload", 4000): lambda esp, http: esp.upload("not-a-number", b"synthetic"),
    ("upload", 4200): lambda esp, http: _then(esp.open(), lambda i: esp.upload(i, b"")),
    ("upload", 5001): lambda esp, http: esp.upload(UNKNOWN, b"synthetic"),
    ("upload", 5101): lambda esp, http: _then(_retracted(esp), lambda i: esp.upload(i, b"x")),
    ("upload", 5102): lambda esp, http: _then(_finished(esp), lambda i: esp.upload(i, b"x")),
    ("upload", 1111): lambda esp, http: _then(esp.open(), lambda i: http.post(
        "/ispws/upload", files={"id": (None, str(i))}, headers=BASIC)),
    ("fileinfo", 2000): lambda esp, http: Client(http, STRANGER).fileinfo(file_details(1, "0" * 32)),
    ("fileinfo", 4000): lambda esp, http: http.post("/ispws/fileinfo", json={}, headers=BASIC),
    ("fileinfo", 4100): lambda esp, http: esp.fileinfo("<fileDetails><fileId>x</fileId>"
                                                      "</fileDetails>"),
    ("fileinfo", 4110): lambda esp, http: esp.fileinfo("<fileDetails>"),
    ("fileinfo", 5001): lambda esp, http: esp.fileinfo(file_details(UNKNOWN, "0" * 32)),
    ("fileinfo", 5002): lambda esp, http: _then(esp.open(), lambda i: esp.fileinfo(
        file_details(i, "0" * 32))),
    ("fileinfo", 5101): lambda esp, http: _then(_retracted(esp), lambda i: esp.fileinfo(
        file_details(i, "0" * 32))),
    ("fileinfo", 5102): lambda esp, http: _then(_finished(esp), lambda i: esp.fileinfo(
        file_details(i, "0" * 32))),
    ("fileinfo", 0): lambda esp, http: _then(_uploaded(esp), lambda u: esp.fileinfo(
        file_details(*u))),
    ("upload", 0): lambda esp, http: _then(esp.open(), lambda i: esp.upload(i, b"synthetic")),
    ("finish", 0): lambda esp, http: _then(_uploaded(esp), lambda u: esp.finish(u[0])),
    ("finish", 2000): lambda esp, http: Client(http, STRANGER).finish(1),
    ("finish", 4000): lambda esp, http: esp.finish("not-a-number"),
    ("finish", 5001): lambda esp, http: esp.finish(UNKNOWN),
    ("finish", 5101): lambda esp, http: _then(_retracted(esp), lambda i: esp.finish(i)),
    ("finish", 5102): lambda esp, http: _then(_finished(esp), lambda i: esp.finish(i)),
    ("retract", 0): lambda esp, http: _then(esp.open(), lambda i: esp.retract(i)),
    ("retract", 2000): lambda esp, http: Client(http, STRANGER).retract(1),
    ("retract", 4000): lambda esp, http: esp.retract(""),
    ("retract", 5001): lambda esp, http: esp.retract(UNKNOWN),
    ("retract", 5101): lambda esp, http: _then(_retracted(esp), lambda i: esp.retract(i)),
    ("retract", 5102): lambda esp, http: _then(_finished(esp), lambda i: esp.retract(i)),
}


async def _then(first: Awaitable, then: Callable[[object], Awaitable]) -> object:
    return await then(await first)


# What each success names beyond its code and description.
SUCCESS_FIELDS = {"status": set(), "submit": {"reportId"}, "upload": {"reportId", "fileId", "hash"},
                  "fileinfo": {"reportId", "fileId"}, "retract": {"reportId"}}


@pytest.fixture
def app(make_settings):
    return create_app(make_settings(IntakeSettings))


@pytest.mark.parametrize(("endpoint", "expected"), list(SCENARIOS), ids=[
    f"{e}-{c}" for e, c in SCENARIOS])
async def test_every_answer_is_the_documented_document(app, endpoint, expected):
    async with running(app) as http:
        r = await SCENARIOS[endpoint, expected](Client(http), http)
    answer = strictly(r.content)
    assert answer.response_code == expected, r.text
    assert r.headers["Request-ID"] and r.headers["content-type"].startswith("text/xml")
    if endpoint == "finish" and expected != 4000 and expected != 2000:
        # every outcome for a report id it could read: the document a client of /finish parses
        assert isinstance(answer, StrictReportDoneResponse), r.text
        assert answer.report_id > 0 and (answer.files.file_id != []) == (expected == 0)
    else:
        assert isinstance(answer, StrictReportResponse), r.text
    if expected == 0 and endpoint in SUCCESS_FIELDS:
        present = {t for t, v in [("reportId", answer.report_id), ("fileId", answer.file_id),
                                  ("hash", answer.hash)] if v is not None}
        assert present == SUCCESS_FIELDS[endpoint], r.text


async def test_redis_away_is_1000_in_the_documented_document_at_every_endpoint(make_settings,
                                                                                tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    try:
        app = create_app(make_settings(IntakeSettings, redis_url=server.url))
        async with running(app) as http:
            esp = Client(http)
            report_id, file_id = await _uploaded(esp)
            server.stop(kill=True)
            answers = {
                "submit": await esp.submit(report_xml()),
                "upload": await esp.upload(report_id, b"synthetic"),
                "fileinfo": await esp.fileinfo(file_details(report_id, file_id)),
                "finish": await esp.finish(report_id),
                "retract": await esp.retract(report_id),
            }
    finally:
        server.stop()
    for endpoint, r in answers.items():
        answer = strictly(r.content)
        assert answer.response_code == 1000 and r.headers["Retry-After"] == "2", endpoint
        assert isinstance(answer, StrictReportDoneResponse) == (endpoint == "finish")
        if endpoint != "submit":
            assert answer.report_id == report_id, endpoint


async def test_a_full_lane_at_finish_is_1000_in_a_report_done_response(make_settings, topology):
    settings = make_settings(IntakeSettings, max_lane_backlog=1)
    fresh = LaneBacklog(aioredis.Redis.from_url(settings.redis_url), topology, 1, max_age_s=0)
    app = app_for(bootstrap(settings, backlogs=fresh))
    async with running(app) as http:
        esp = Client(http)
        first, _ = await _uploaded(esp)
        assert strictly((await esp.finish(first)).content).response_code == 0
        second, _ = await _uploaded(esp)
        r = await esp.finish(second)
    answer = strictly(r.content)
    assert isinstance(answer, StrictReportDoneResponse)
    assert (answer.response_code, answer.report_id) == (1000, second)
    assert r.headers["Retry-After"] == "2"


def test_the_scenarios_cover_every_code_the_sandbox_answers():
    covered = {code for _, code in SCENARIOS} | {1000}  # 1000: the two tests above
    assert covered == {int(c) for c in Code}


@pytest.mark.parametrize("bad", [
    b"<reportDoneResponse><responseCode>0</responseCode><responseDescription>Success"
    b"</responseDescription><reportId>1</reportId><files/></reportDoneResponse>",
    b"<reportDoneResponse><responseCode>0</responseCode><reportId>1</reportId><files/><extra/>"
    b"</reportDoneResponse>",
    b"<reportResponse><responseCode>0</responseCode><reportId>1</reportId><responseDescription>x"
    b"</responseDescription></reportResponse>",
    b"<reportResponse><responseCode>0</responseCode><responseDescription>x</responseDescription>"
    b"<hash>h</hash><fileId>f</fileId></reportResponse>",
])
def test_the_strict_reader_refuses_what_the_documents_do_not_allow(bad):
    with pytest.raises((AssertionError, ValueError)):
        strictly(bad)
