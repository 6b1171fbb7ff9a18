"""The XML reporting API (/ispws) against a real Redis: every endpoint, every response code the
sandbox answers, documents as real clients write them, hostile XML, uploads, expiry."""

import asyncio
import base64
import hashlib
import json
import os
import re
import tracemalloc
from xml.etree import ElementTree as ET

import pytest
import redis
import redis.asyncio as aioredis
import xmlschema

from services.intake.app import app_for, bootstrap, create_app
from services.intake.config import IntakeSettings
from services.intake.domain import IDLE_FOR_S, OPEN_FOR_S
from services.intake.store import LaneBacklog
from shared import devkeys
from shared.clock import ManualClock
from shared.schemas import xml as report_xml_io
from shared.schemas.report import FiledReport, Report
from shared.settings import DATA_DIR
from tests.helpers import BASIC as HELPERS_BASIC
from tests.helpers import ESP, keys_holding, running, stored_report, stream_events

pytestmark = pytest.mark.integration

BASIC = HELPERS_BASIC
OTHER = {"Authorization": "Basic " + base64.b64encode(b"other-esp:other-password").decode()}
USERS = f"{devkeys.ISPWS_USERS},other-esp:other-password"
XML = {"Content-Type": "text/xml; charset=utf-8"}

SUMMARY = ("<incidentSummary><incidentType>Online Enticement of Children for Sexual Acts"
           "</incidentType><platform>Synthetic Chat</platform>{escalate}{annotations}"
           "<incidentDateTime>2026-03-01T10:00:00Z</incidentDateTime></incidentSummary>")
REPORTER = ("<reporter><reportingPerson><firstName>Trust</firstName><lastName>Safety</lastName>"
            "<email type=\"Work\">trust@esp.example.com</email></reportingPerson>"
            "<companyTemplate>Synthetic ESP</companyTemplate></reporter>")
SUSPECT = ("<personOrUserReported><personOrUserReportedPerson>"
           "<phone type=\"Mobile\" verified=\"true\" countryCallingCode=\"+1\" extension=\"42\">"
           "555-0100</phone>"
           "<email verified=\"true\" type=\"Home\" verificationDate=\"2026-01-02T03:04:05Z\">"
           "suspect@example.com</email><email>second@example.com</email>"
           "</personOrUserReportedPerson><screenName>synthetic_suspect</screenName>"
           "<estimatedLocation verified=\"false\"><city>Austin</city><region>TX</region>"
           "<countryCode>US</countryCode></estimatedLocation></personOrUserReported>")


def report_xml(escalate: bool = False, annotations: str = "<reportAnnotations><sextortion/>"
               "</reportAnnotations>", internet: str = "", suspect: str = SUSPECT,
               summary: str | None = None) -> bytes:
    summary = summary or SUMMARY.format(
        escalate="<escalateToHighPriority>Synthetic: meeting planned</escalateToHighPriority>"
        if escalate else "", annotations=annotations)
    return f"<report>{summary}{internet}{REPORTER}{suspect}</report>".encode()


def code(response) -> int:
    return int(ET.fromstring(response.content).findtext("responseCode"))


def field(response, name: str) -> str | None:
    return ET.fromstring(response.content).findtext(name)


class Client:
    """An ESP's client of the reporting API: the calls as the documentation describes them."""

    def __init__(self, http, auth=BASIC) -> None:
        self.http, self.auth = http, auth

    async def submit(self, document: bytes):
        return await self.http.post("/ispws/submit", content=document, headers={**self.auth, **XML})

    async def open(self, document: bytes | None = None) -> int:
        r = await self.submit(document or report_xml())
        assert code(r) == 0, r.text
        return int(field(r, "reportId"))

    async def upload(self, report_id: int | str, data: bytes, name: str = "upload.jpg"):
        return await self.http.post("/ispws/upload", data={"id": str(report_id)},
                                    files={"file": (name, data, "image/jpeg")}, headers=self.auth)

    async def fileinfo(self, document: str | bytes):
        body = document.encode() if isinstance(document, str) else document
        return await self.http.post("/ispws/fileinfo", content=body, headers={**self.auth, **XML})

    async def finish(self, report_id: int | str):
        return await self.http.post("/ispws/finish", data={"id": str(report_id)},
                                    headers=self.auth)

    async def retract(self, report_id: int | str):
        return await self.http.post("/ispws/retract", data={"id": str(report_id)},
                                    headers=self.auth)


def file_details(report_id: int, file_id: str, body: str = "") -> str:
    return (f"<fileDetails><reportId>{report_id}</reportId><fileId>{file_id}</fileId>{body}"
            "</fileDetails>")


@pytest.fixture
def app(make_settings):
    return create_app(make_settings(IntakeSettings, ispws_users=USERS))


async def published(redis, topology) -> list[dict]:
    """The submitted events, each with the body stored for its report under "report"."""
    events = []
    for stream in topology.submitted.values():
        events += await stream_events(redis, stream)
    for event in events:
        event["report"] = await stored_report(redis, topology, event["report_id"])
    return events



async def filed_one(app, redis, topology, document: bytes | None = None) -> dict:
    """Open a report (the given document, or the default one), upload one file, finish: the
    one submitted event, with its stored report."""
    async with running(app) as http:
        esp = Client(http)
        report_id = await esp.open(document)
        await esp.upload(report_id, b"synthetic")
        assert code(await esp.finish(report_id)) == 0
    [event] = await published(redis, topology)
    return event

# ---- status, credentials, the schema ----

async def test_status_answers_0_with_a_request_id(app):
    async with running(app) as http:
        r = await http.get("/ispws/status", headers=BASIC)
        again = await http.get("/ispws/status", headers=BASIC)
    assert r.status_code == 200 and code(r) == 0
    assert r.headers["content-type"].startswith("text/xml")
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["Request-ID"])
    assert again.headers["Request-ID"] != r.headers["Request-ID"]


@pytest.mark.parametrize("authorization", [
    None, "Basic " + base64.b64encode(b"example-esp:wrong").decode(),
    "Basic " + base64.b64encode(f"nobody:{devkeys.ISPWS_PASSWORD}".encode()).decode(),
    "Basic !!!not-base64", ESP["Authorization"]])
@pytest.mark.parametrize("call", ["GET /ispws/status", "GET /ispws/xsd", "POST /ispws/submit",
                                  "POST /ispws/finish"])
async def test_bad_credentials_are_401_with_code_2000(app, redis_client, topology, authorization,
                                                      call):
    method, path = call.split()
    headers = {"Authorization": authorization} if authorization else {}
    async with running(app) as http:
        r = await http.request(method, path, content=report_xml(), headers={**headers, **XML})
    assert r.status_code == 401 and code(r) == 2000
    assert r.headers["WWW-Authenticate"].startswith("Basic") and r.headers["Request-ID"]
    assert await published(redis_client, topology) == []


async def test_the_xsd_is_the_schema_the_documents_are_checked_against(app):
    async with running(app) as http:
        r = await http.get("/ispws/xsd", headers=BASIC)
    assert r.status_code == 200
    schema = xmlschema.XMLSchema(r.text)
    assert schema.is_valid(report_xml(escalate=True))
    assert not schema.is_valid(report_xml().replace(b"<platform>", b"<platfrom>")
                               .replace(b"</platform>", b"</platfrom>"))


# ---- submit, upload, fileinfo, finish ----

async def test_a_report_filed_in_four_calls_is_published_once_as_the_json_api_would(
        app, redis_client, topology):
    async with running(app) as http:
        esp = Client(http)
        report_id = await esp.open(report_xml(escalate=True))
        assert await published(redis_client, topology) == [], "submit publishes nothing"
        up = await esp.upload(report_id, b"synthetic file one")
        second = await esp.upload(report_id, b"synthetic file two")
        file_id = field(up, "fileId")
        info = await esp.fileinfo(file_details(report_id, file_id, (
            "<originalFileName>one.jpg</originalFileName><fileViewedByEsp>false</fileViewedByEsp>"
            "<fileAnnotations><viral/><generativeAi>true</generativeAi></fileAnnotations>"
            "<industryClassification>A1</industryClassification>"
            "<originalFileHash hashType=\"PDNA\">AbCdEf0123456789+/=</originalFileHash>")))
        done = await esp.finish(report_id)
    assert code(up) == 0 and re.fullmatch(r"[0-9a-f]{32}", file_id)
    assert field(up, "hash") == hashlib.md5(b"synthetic file one").hexdigest()
    assert code(info) == 0
    assert code(done) == 0 and ET.fromstring(done.content).tag == "reportDoneResponse"
    assert [e.text for e in ET.fromstring(done.content).iter("fileId")] == [
        file_id, field(second, "fileId")]
    [event] = await published(redis_client, topology)
    assert event["report_id"] == report_id and event["lane"] == "escalated"
    assert event["esp"] == "example-esp"
    report = FiledReport.model_validate(event["report"])
    one, two = report.files
    assert one.file_viewed_by_esp is False and one.annotations.viral
    assert one.annotations.generative_ai and one.industry_classification == "A1"
    assert [(h.hash_type, h.value) for h in one.original_file_hash] == [
        ("PDNA", "AbCdEf0123456789+/="),
        ("MD5", hashlib.md5(b"synthetic file one").hexdigest()),
        ("SHA1", hashlib.sha1(b"synthetic file one").hexdigest()),
        ("SHA256", hashlib.sha256(b"synthetic file one").hexdigest())]
    assert two.original_file_name is None and len(two.original_file_hash) == 3
    emails = report.person_or_user_reported.person_or_user_reported_person.email
    assert (emails[0].value, emails[0].verified, emails[0].type) == (
        "suspect@example.com", True, "Home")
    assert emails[1].value == "second@example.com" and emails[1].verified is None
    [phone] = report.person_or_user_reported.person_or_user_reported_person.phone
    assert (phone.value, phone.country_calling_code, phone.extension, phone.verified) == (
        "555-0100", "+1", "42", True)


async def test_a_report_without_escalation_takes_the_standard_lane(app, redis_client, topology):
    event = await filed_one(app, redis_client, topology)
    assert event["lane"] == "standard"


@pytest.mark.parametrize("flag", ["<sextortion/>", "<sextortion></sextortion>",
                                  "<sextortion>true</sextortion>", "<sextortion>1</sextortion>",
                                  "<sextortion>false</sextortion>", ""])
async def test_both_flag_encodings(app, redis_client, topology, flag):
    event = await filed_one(app, redis_client, topology, report_xml(
        annotations=f"<reportAnnotations>{flag}<spam/></reportAnnotations>"))
    annotations = FiledReport.model_validate(event["report"]).incident_summary.annotations
    assert annotations.sextortion is (flag != "" and "false" not in flag)
    assert annotations.spam is True


INCIDENTS = {
    "webPageIncident": '<webPageIncident thirdPartyHostedContent="true"><url>https://example.com/'
                       'a</url><url>https://example.com/b</url></webPageIncident>',
    "emailIncident": '<emailIncident><emailAddress verified="true">x@example.com</emailAddress>'
                     '<content>Synthetic</content></emailIncident>',
    "newsgroupIncident": "<newsgroupIncident><name>alt.synthetic</name><emailAddress>"
                         "n@example.com</emailAddress></newsgroupIncident>",
    "chatImIncident": "<chatImIncident><chatClient>Synthetic Chat</chatClient><chatRoomName>room"
                      "</chatRoomName></chatImIncident>",
    "onlineGamingIncident": "<onlineGamingIncident><gameName>Synthetic Game</gameName><console>"
                            "PC</console></onlineGamingIncident>",
    "cellPhoneIncident": '<cellPhoneIncident><phoneNumber type="Mobile">555-0199</phoneNumber>'
                         "<latitude>30.27</latitude><longitude>-97.74</longitude>"
                         "</cellPhoneIncident>",
    "nonInternetIncident": '<nonInternetIncident><locationName>Synthetic Park</locationName>'
                           '<incidentAddress type="Home"><city>Austin</city><state>TX</state>'
                           "</incidentAddress></nonInternetIncident>",
    "peer2peerIncident": "<peer2peerIncident><client>SyntheticP2P</client><ipCaptureEvent>"
                         "<ipAddress>192.0.2.7</ipAddress><port>6881</port></ipCaptureEvent>"
                         "<fileNames>a.bin</fileNames></peer2peerIncident>",
}


@pytest.mark.parametrize("kind", list(INCIDENTS))
async def test_every_internet_details_kind(app, redis_client, topology, kind):
    event = await filed_one(app, redis_client, topology, report_xml(
        internet=f"<internetDetails>{INCIDENTS[kind]}</internetDetails>"))
    [details] = event["report"]["internetDetails"]
    assert [k for k, v in details.items() if v is not None] == [kind]


async def test_two_kinds_in_one_internet_details_fail_validation(app):
    both = INCIDENTS["chatImIncident"] + INCIDENTS["webPageIncident"]
    async with running(app) as http:
        r = await Client(http).submit(report_xml(internet=f"<internetDetails>{both}"
                                                 "</internetDetails>"))
    assert code(r) == 4100 and "/report/internetDetails" in field(r, "responseDescription")


@pytest.mark.parametrize(("document", "where"), [
    # incidentDateTime before platform: out of the schema's order
    (report_xml(summary="<incidentSummary><incidentType>Child Sex Trafficking</incidentType>"
                "<incidentDateTime>2026-03-01T10:00:00Z</incidentDateTime><platform>P</platform>"
                "</incidentSummary>"), "/report/incidentSummary"),
    # reporter before incidentSummary
    (b"<report>" + REPORTER.encode() + SUMMARY.format(escalate="", annotations="").encode()
     + b"</report>", "/report"),
    # email before phone in a person
    (report_xml(suspect="<personOrUserReported><personOrUserReportedPerson><email>a@example.com"
                "</email><phone>555</phone></personOrUserReportedPerson></personOrUserReported>"),
     "/report/personOrUserReported/personOrUserReportedPerson"),
    # an element the schema does not have
    (report_xml(annotations="<reportAnnotations><sextortion/><grooming/></reportAnnotations>"),
     "/report/incidentSummary/reportAnnotations"),
    # a value outside its set, an attribute outside its set
    (report_xml(summary="<incidentSummary><incidentType>Other</incidentType><incidentDateTime>"
                "2026-03-01T10:00:00Z</incidentDateTime></incidentSummary>"),
     "/report/incidentSummary/incidentType"),
    (report_xml().replace(b'type="Home"', b'type="Personal"'),
     "/report/personOrUserReported/personOrUserReportedPerson/email"),
    # a required element missing
    (b"<report>" + SUMMARY.format(escalate="", annotations="").encode() + b"</report>", "/report"),
    # a flag that is neither empty nor true/false
    (report_xml(annotations="<reportAnnotations><sextortion>yes</sextortion></reportAnnotations>"),
     "/report/incidentSummary/reportAnnotations/sextortion"),
    # the wrong document
    (b"<fileDetails><reportId>1</reportId></fileDetails>", "/fileDetails"),
])
async def test_documents_outside_the_schema_fail_validation_with_the_path(app, redis_client,
                                                                          topology, document, where):
    async with running(app) as http:
        r = await Client(http).submit(document)
    assert r.status_code == 200 and code(r) == 4100, r.text
    assert where in field(r, "responseDescription")
    assert await redis_client.get(topology.report_id_counter) is None, "no report was opened"


SECRET = "suspect-value-never-echoed@example.com"


async def test_a_validation_answer_names_where_and_why_never_the_value(app):
    document = report_xml().replace(b"<screenName>synthetic_suspect</screenName>",
                                    f"<age>{SECRET}</age>".encode())
    async with running(app) as http:
        r = await Client(http).submit(document)
    assert code(r) == 4100 and SECRET not in r.text


BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE report [<!ENTITY a "aaaaaaaaaa">'
                  + b"".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode()
                             for i in range(9))
                  + b"]><report>&j;</report>")


@pytest.mark.parametrize("document", [
    b"<report><incidentSummary>", b"not xml at all", b"<report></reprot>", b"\xff\xfe<report/>",
    BILLION_LAUGHS,
    b'<?xml version="1.0"?><!DOCTYPE report [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<report>&x;</report>",
    b'<!DOCTYPE report SYSTEM "http://127.0.0.1:1/report.dtd"><report/>',
    b"<report>" + b"<a>" * 1000 + b"</a>" * 1000 + b"</report>",
    b"<report>" + b"<x/>" * 150_000 + b"</report>",
    b"<report><x " + b" ".join(f'a{i}=""'.encode() for i in range(17)) + b"/></report>",
    b"<report><x>" + b"t" * 70_000 + b"</x></report>",
    b'<?xml version="1.0" encoding="x-unknown"?><report/>',
    b'<?xml version="1.0" encoding="Shift_JIS"?><report/>',
], ids=["unclosed", "text", "mismatched", "bad-encoding", "billion-laughs", "external-entity",
        "external-dtd", "deep", "many-elements", "many-attributes", "long-text",
        "unknown-encoding", "multi-byte-encoding"])
async def test_malformed_and_hostile_xml_is_4110(app, redis_client, topology, document, capsys):
    async with running(app) as http:
        r = await Client(http).submit(document)
    assert r.status_code == 200 and code(r) == 4110, r.text
    assert "[error" not in capsys.readouterr().out  # refused, not failed: no error logged
    assert "root:" not in r.text  # nothing of /etc/passwd
    assert await redis_client.get(topology.report_id_counter) is None


def test_an_entity_expansion_document_is_refused_with_bounded_memory():
    """A billion laughs would expand to 10 GB; refused before any entity is declared."""
    tracemalloc.start()
    with pytest.raises(report_xml_io.MalformedXml, match="DTD"):
        report_xml_io.read(BILLION_LAUGHS, Report, "report")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2_000_000


async def test_a_body_over_the_limit_or_of_the_wrong_type_is_4000(make_settings):
    app = create_app(make_settings(IntakeSettings, max_body_bytes=2048))
    async with running(app) as http:
        big = await http.post("/ispws/submit", content=b"<report>" + b" " * 5000 + b"</report>",
                              headers={**BASIC, **XML})
        json_body = await http.post("/ispws/submit", json={"report": {}}, headers=BASIC)
    assert code(big) == 4000 and "2048" in field(big, "responseDescription")
    assert code(json_body) == 4000 and "text/xml" in field(json_body, "responseDescription")


# ---- uploads ----

async def test_an_upload_over_the_size_limit_is_1111_and_keeps_nothing(make_settings, redis_client,
                                                                       topology):
    app = create_app(make_settings(IntakeSettings, ispws_max_file_bytes=10_000))
    async with running(app) as http:
        esp = Client(http)
        report_id = await esp.open()
        over = await esp.upload(report_id, b"x" * 10_001)
        at_limit = await esp.upload(report_id, b"x" * 10_000)
        done = await esp.finish(report_id)
    assert code(over) == 1111 and "10000" in field(over, "responseDescription")
    assert code(at_limit) == 0
    assert [e.text for e in ET.fromstring(done.content).iter("fileId")] == [field(at_limit,
                                                                                  "fileId")]


@pytest.mark.parametrize(("form", "files", "expected"), [
    ({"id": "{id}"}, {"file": ("e.jpg", b"", "image/jpeg")}, 4200),  # empty file
    ({"id": "{id}"}, None, 1111),  # no file part
    ({}, {"file": ("a.jpg", b"synthetic", "image/jpeg")}, 4000),  # no report id
    ({"id": "not-a-number"}, {"file": ("a.jpg", b"synthetic", "image/jpeg")}, 4000),
    ({"id": "987654321"}, {"file": ("a.jpg", b"synthetic", "image/jpeg")}, 5001),  # no such report
])
async def test_bad_uploads(app, form, files, expected):
    async with running(app) as http:
        report_id = await Client(http).open()
        data = {k: v.format(id=report_id) for k, v in form.items()}
        if files is None:  # a multipart form with only the id
            r = await http.post("/ispws/upload", files={"id": (None, str(report_id))},
                                headers=BASIC)
        else:
            r = await http.post("/ispws/upload", data=data, files=files, headers=BASIC)
    assert code(r) == expected, r.text


async def test_an_upload_that_is_not_multipart_is_4000(app):
    async with running(app) as http:
        report_id = await Client(http).open()
        r = await http.post("/ispws/upload", content=b"raw bytes",
                            headers={**BASIC, "Content-Type": "application/octet-stream"})
        broken = await http.post("/ispws/upload", content=b"--b\r\nnonsense",
                                 headers={**BASIC, "Content-Type": "multipart/form-data; boundary=b"})
    assert code(r) == 4000 and report_id
    assert code(broken) in (4000, 1111)


async def test_uploaded_bytes_are_nowhere_in_redis(app, redis_client, redis_url, topology):
    content = os.urandom(4096).hex().encode()  # random: no compression could hide it
    async with running(app) as http:
        esp = Client(http)
        report_id = await esp.open()
        await esp.upload(report_id, content)
        file_id = field(await esp.upload(report_id, content[:100]), "fileId")
        await esp.fileinfo(file_details(report_id, file_id))
        assert code(await esp.finish(report_id)) == 0
    assert await published(redis_client, topology), "the report was filed"
    direct = redis.Redis.from_url(redis_url)
    try:
        assert keys_holding(direct, content[:100]) == []
        assert keys_holding(direct, content[1000:1040]) == []
        assert keys_holding(direct, file_id.encode()), "the search finds what is there"
    finally:
        direct.close()


# ---- fileinfo ----

async def test_fileinfo_for_a_file_never_uploaded_is_5002_and_checks_the_constraints(app):
    async with running(app) as http:
        esp = Client(http)
        report_id = await esp.open()
        file_id = field(await esp.upload(report_id, b"synthetic"), "fileId")
        unknown = await esp.fileinfo(file_details(report_id, "0" * 32))
        supplemental = await esp.fileinfo(file_details(report_id, file_id, (
            "<fileRelevance>Supplemental Reported</fileRelevance>"
            "<industryClassification>A1</industryClassification>")))
        meme = await esp.fileinfo(file_details(report_id, file_id, (
            "<fileRelevance>Supplemental Reported</fileRelevance>"
            "<fileAnnotations><potentialMeme/></fileAnnotations>")))
        no_ids = await esp.fileinfo("<fileDetails><originalFileName>a</originalFileName>"
                                    "</fileDetails>")
        other_report = await esp.fileinfo(file_details(987654321, file_id))
        out_of_order = await esp.fileinfo(
            f"<fileDetails><fileId>{file_id}</fileId><reportId>{report_id}</reportId>"
            "</fileDetails>")
        malformed = await esp.fileinfo("<fileDetails>")
        fine = await esp.fileinfo(file_details(report_id, file_id,
                                               "<fileRelevance>Supplemental Reported"
                                               "</fileRelevance>"))
    assert code(unknown) == 5002
    assert code(supplemental) == 4100 and "industryClassification" in supplemental.text
    assert code(meme) == 4100 and "potentialMeme" in meme.text
    assert code(no_ids) == 4100 and code(out_of_order) == 4100
    assert code(other_report) == 5001 and code(malformed) == 4110 and code(fine) == 0


# ---- the life of an open report ----

async def test_finishing_twice_is_5102_and_publishes_once(app, redis_client, topology):
    async with running(app) as http:
        esp = Client(http)
        report_id = await esp.open()
        await esp.upload(report_id, b"synthetic")
        first, second = await asyncio.gather(esp.finish(report_id), esp.finish(report_id))
        late_upload = await esp.upload(report_id, b"synthetic")
        late_retract = await esp.retract(report_id)
    assert sorted([code(first), code(second)]) == [0, 5102]
    assert code(late_upload) == 5102 and code(late_retract) == 5102
    assert len(await published(redis_client, topology)) == 1


async def test_a_retracted_report_is_never_published(app, redis_client, topology):
    async with running(app) as http:
        esp = Client(http)
        report_id = await esp.open()
        await esp.upload(report_id, b"synthetic")
        retracted = await esp.retract(report_id)
        again = await esp.retract(report_id)
        finish = await esp.finish(report_id)
        upload = await esp.upload(report_id, b"synthetic")
    assert code(retracted) == 0
    assert (code(again), code(finish), code(upload)) == (5101, 5101, 5101)
    assert await published(redis_client, topology) == []


@pytest.mark.parametrize("report_id", ["987654321", "0", "-1", "", "1" * 40])
async def test_unknown_report_ids(app, report_id):
    async with running(app) as http:
        esp = Client(http)
        finish, retract = await esp.finish(report_id), await esp.retract(report_id)
    expected = 5001 if report_id == "987654321" else 4000
    assert (code(finish), code(retract)) == (expected, expected)


async def test_another_esps_report_does_not_exist_for_the_caller(app, redis_client, topology):
    async with running(app) as http:
        mine = await Client(http).open()
        other = Client(http, OTHER)
        answers = [await other.finish(mine), await other.retract(mine),
                   await other.upload(mine, b"synthetic"),
                   await other.fileinfo(file_details(mine, "0" * 32))]
    assert [code(r) for r in answers] == [5001] * 4
    assert await published(redis_client, topology) == []


async def test_an_open_report_expires_24_hours_after_opening_or_1_hour_after_its_last_change(
        make_settings):
    clock = ManualClock()
    app = app_for(bootstrap(make_settings(IntakeSettings, ispws_users=USERS), clock=clock))
    async with running(app) as http:
        esp = Client(http)
        a, b, c = [await esp.open() for _ in range(3)]
        clock.advance(10)
        for report_id in (a, b, c):
            assert code(await esp.upload(report_id, b"synthetic")) == 0
        clock.advance(OPEN_FOR_S - 610)
        assert code(await esp.upload(b, b"synthetic")) == 0  # b changes late
        clock.advance(599)
        finished = await esp.finish(a)  # idle for almost a day, but not yet a day old
        clock.advance(2)  # a day and a second since they were opened
        c_late = await esp.upload(c, b"synthetic")
        b_late = await esp.upload(b, b"synthetic")  # 601 s after its last change
        clock.advance(IDLE_FOR_S + 1)
        b_idle = await esp.finish(b)
        b_gone = await esp.retract(b)
    assert code(finished) == 0
    assert code(c_late) == 5001 and "expired" in field(c_late, "responseDescription")
    assert code(b_late) == 0
    assert code(b_idle) == 5001 and field(b_idle, "reportId") == str(b)
    assert code(b_gone) == 5001


async def test_a_finish_when_the_lane_is_full_keeps_the_report_open(make_settings, redis_client,
                                                                    topology):
    settings = make_settings(IntakeSettings, max_lane_backlog=1)
    # the backlog read afresh for every question (in service, at most once a second)
    fresh = LaneBacklog(aioredis.Redis.from_url(settings.redis_url), topology, 1, max_age_s=0)
    app = app_for(bootstrap(settings, backlogs=fresh))
    async with running(app) as http:
        esp = Client(http)
        first = await esp.open()
        await esp.upload(first, b"synthetic")
        assert code(await esp.finish(first)) == 0
        second = await esp.open()
        await esp.upload(second, b"synthetic")
        full = await esp.finish(second)
        retract = await esp.retract(second)
    assert code(full) == 1000 and full.headers["Retry-After"] == "2"
    assert code(retract) == 0, "the report stayed open"


async def test_redis_away_is_1000_with_retry_after(make_settings, tmp_path):
    from tipline.stack import RedisServer

    server = RedisServer(tmp_path / "redis").start()
    try:
        app = create_app(make_settings(IntakeSettings, redis_url=server.url))
        async with running(app) as http:
            server.stop(kill=True)
            r = await Client(http).submit(report_xml())
            status = await http.get("/ispws/status", headers=BASIC)
    finally:
        server.stop()
    assert r.status_code == 200 and code(r) == 1000 and r.headers["Retry-After"] == "2"
    assert code(status) == 0


async def test_a_json_report_and_the_same_report_in_xml_are_the_same_object(app, redis_client,
                                                                            topology):
    """One validation path: what the XML API publishes is what the JSON API publishes."""
    sample = json.loads((DATA_DIR / "samples" / "escalated.json").read_text())
    document = report_xml_io.write(Report.model_validate({k: v for k, v in sample.items()
                                                          if k != "files"}))
    async with running(app) as http:
        esp = Client(http)
        report_id = await esp.open(document)
        up = await esp.upload(report_id, b"synthetic")
        details = FiledReport.model_validate(sample).files[0]
        body = report_xml_io.write(details.model_copy(update={
            "report_id": report_id, "file_id": field(up, "fileId")}))
        assert code(await esp.fileinfo(body)) == 0
        await esp.finish(report_id)
        json_answer = await http.post("/v1/reports", json=sample,
                                      headers=ESP)
    assert json_answer.status_code == 202
    by_api = {e["report_id"]: FiledReport.model_validate(e["report"])
              for e in await published(redis_client, topology)}
    from_xml, from_json = by_api[report_id], by_api[json_answer.json()["reportId"]]
    assert from_xml.model_dump(exclude={"files"}) == from_json.model_dump(exclude={"files"})
    assert from_xml.files[0].original_file_hash[0] == from_json.files[0].original_file_hash[0]
    assert from_xml.files[0].model_dump(exclude={"file_id", "original_file_hash"}) == \
        from_json.files[0].model_dump(exclude={"file_id", "original_file_hash"})


# ---- the XML Schema instance attributes, as schema-aware writers put them on a document ----

XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def with_root_attributes(document: bytes, root: str, attributes: str) -> bytes:
    return document.replace(f"<{root}>".encode(), f"<{root} {attributes}>".encode(), 1)


class HintServer:
    """An HTTP server that counts the requests it gets: a schema location must never be fetched."""

    def __enter__(self) -> "HintServer":
        import http.server
        import threading

        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                hits.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("attributes", [
    f'{XSI} xsi:noNamespaceSchemaLocation="{{hints}}/ispws/xsd"',
    f'{XSI} xsi:schemaLocation="urn:example {{hints}}/example.xsd"',
    f'{XSI} xsi:type="Report"',
], ids=["noNamespaceSchemaLocation", "schemaLocation", "type"])
async def test_schema_instance_attributes_on_a_report_and_its_file_details_are_accepted(
        app, redis_client, topology, attributes):
    with HintServer() as hints:
        report = with_root_attributes(report_xml(), "report", attributes.format(hints=hints.url))
        async with running(app) as http:
            esp = Client(http)
            report_id = await esp.open(report)
            file_id = field(await esp.upload(report_id, b"synthetic"), "fileId")
            details = with_root_attributes(
                file_details(report_id, file_id, "<fileViewedByEsp>false</fileViewedByEsp>")
                .encode(), "fileDetails",
                attributes.format(hints=hints.url).replace('"Report"', '"FileDetails"'))
            info = await esp.fileinfo(details)
            done = await esp.finish(report_id)
    assert code(info) == 0 and code(done) == 0, (info.text, done.text)
    assert hints.hits == [], "a schema location was fetched"
    [event] = await published(redis_client, topology)
    assert event["report"]["files"][0]["fileViewedByEsp"] is False


@pytest.mark.parametrize(("document", "where"), [
    # xsi:type naming a type the element is not
    (with_root_attributes(report_xml(), "report", f'{XSI} xsi:type="FileDetails"'), "/report"),
    (with_root_attributes(report_xml(), "report", f'{XSI} xsi:type="NoSuchType"'), "/report"),
    # xsi:nil where the schema has no nillable element
    (report_xml().replace(b"<screenName>synthetic_suspect</screenName>",
                          f'<screenName {XSI} xsi:nil="true"/>'.encode()),
     "/report/personOrUserReported/screenName"),
    # any other attribute is still refused
    (with_root_attributes(report_xml(), "report", 'version="2"'), "/report"),
    (with_root_attributes(report_xml(), "report",
                          'xmlns:x="urn:example" x:noNamespaceSchemaLocation="a.xsd"'), "/report"),
], ids=["wrong-type", "unknown-type", "nil", "plain-attribute", "other-namespace"])
async def test_schema_instance_attributes_do_not_loosen_the_schema(app, redis_client, topology,
                                                                   document, where):
    async with running(app) as http:
        r = await Client(http).submit(document)
    assert code(r) == 4100 and where in field(r, "responseDescription"), r.text
    assert await redis_client.get(topology.report_id_counter) is None


async def test_a_document_posted_as_text_plain_is_read_as_xml(app, redis_client, topology):
    """fetch() sends a string body as text/plain: a client written that way files as well."""
    async with running(app) as http:
        r = await http.post("/ispws/submit", content=report_xml(),
                            headers={**BASIC, "Content-Type": "text/plain;charset=UTF-8"})
        form = await http.post("/ispws/submit", content=report_xml(),
                               headers={**BASIC, "Content-Type": "application/x-www-form-urlencoded"})
    assert code(r) == 0 and field(r, "reportId")
    assert code(form) == 4000
