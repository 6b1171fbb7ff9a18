"""The XML reporting API against the real processes: a report filed as JSON and the same report
filed in four XML calls take the same path, stage for stage, and the uploaded bytes are nowhere,
neither in Redis nor in any service's log."""

import hashlib
import json
import os
from xml.etree import ElementTree as ET

import httpx
import pytest
import redis

from shared.schemas import xml
from shared.schemas.report import FiledReport, Report
from shared.settings import DATA_DIR
from tests.helpers import keys_holding, personal_values
from tipline.stack import Stack
from tipline.testing import Sandbox

pytestmark = pytest.mark.e2e

# The stages after which nothing more happens to each kind. (Not the informational sample: its file
# is marked viral, so its twin, with the same hashes, rightly joins the first one's viral bundle.)
FINAL = {"escalated": {"submitted", "triaged", "routed", "acknowledged", "outcome"},
         "referral": {"submitted", "triaged", "routed", "acknowledged", "outcome"}}


class EspClient:
    """What an ESP's client of the reporting API does: submit, upload, fileinfo, finish."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.http = httpx.Client(base_url=sandbox.ispws_url, auth=sandbox.ispws_auth, timeout=10)

    def call(self, path: str, **kwargs) -> ET.Element:
        r = self.http.post(path, **kwargs)
        assert r.status_code == 200 and r.headers["Request-ID"], r.text
        answer = ET.fromstring(r.content)
        assert answer.findtext("responseCode") == "0", r.text
        return answer

    def file(self, report: Report, files: list[tuple[bytes, bytes]]) -> int:
        """The report, then each file: its bytes, then its <fileDetails> (a template whose ids
        are filled in), then finish."""
        headers = {"Content-Type": "text/xml"}
        report_id = self.call("/submit", content=xml.write(report),
                              headers=headers).findtext("reportId")
        for content, details in files:
            up = self.call("/upload", data={"id": report_id},
                           files={"file": ("upload.bin", content, "application/octet-stream")})
            assert up.findtext("hash") == hashlib.md5(content).hexdigest()
            document = details.replace(b"REPORT-ID", report_id.encode()).replace(
                b"FILE-ID", up.findtext("fileId").encode())
            self.call("/fileinfo", content=document, headers=headers)
        done = self.call("/finish", data={"id": report_id})
        assert done.tag == "reportDoneResponse"
        return int(report_id)


def twins(kind: str) -> tuple[dict, Report, list[tuple[bytes, bytes]], bytes]:
    """A sample as the JSON API takes it, and as the XML API takes it: the same report, the same
    files (the JSON form carries the hashes the XML API computes from the bytes)."""
    sample = json.loads((DATA_DIR / "samples" / f"{kind}.json").read_text())
    content = f"synthetic-{kind}-".encode() + os.urandom(2048).hex().encode()
    computed = [{"hashType": "MD5", "value": hashlib.md5(content).hexdigest()},
                {"hashType": "SHA1", "value": hashlib.sha1(content).hexdigest()},
                {"hashType": "SHA256", "value": hashlib.sha256(content).hexdigest()}]
    filed = FiledReport.model_validate(sample)
    report = Report.model_validate({k: v for k, v in sample.items() if k != "files"})
    xml_files = []
    for file in filed.files:
        template = file.model_copy(update={"report_id": 1, "file_id": "f" * 32})
        xml_files.append((content, xml.write(template).replace(b"<reportId>1<", b"<reportId>"
                          b"REPORT-ID<").replace(b"f" * 32, b"FILE-ID")))
    for file in sample["files"]:
        file["originalFileHash"] += computed
    return sample, report, xml_files, content


def comparable(timeline: dict) -> dict:
    return {"priority": timeline["priority"], "lane": timeline["lane"],
            "agency": timeline["agency"], "disposition": timeline["disposition"],
            "stages": [s["stage"] for s in timeline["stages"]]}


def test_json_and_xml_filings_take_the_same_path_and_the_bytes_stay_out(tmp_path,
                                                                        sure_directory):
    stack = Stack.on_free_ports(tmp_path / "stack", settings={
        "TIPLINE_DIRECTORY_FILE": str(sure_directory), "TIPLINE_SIM_SECONDS_PER_HOUR": "0.01",
        "TIPLINE_POLL_MS": "20", "TIPLINE_SLA_P1_HOURS": "1000"})
    stack.start(timeout=90)
    try:
        sandbox = Sandbox(intake_url=stack.url("intake"), tracker_url=stack.url("tracker"))
        esp = EspClient(sandbox)
        pairs, contents, samples = {}, [], []
        for kind in FINAL:
            sample, report, files, content = twins(kind)
            r = httpx.post(f"{sandbox.intake_url}/v1/reports", json=sample, timeout=10,
                           headers={"Authorization": f"Bearer {sandbox.esp_key}"})
            assert r.status_code == 202, r.text
            pairs[kind] = (r.json()["reportId"], esp.file(report, files))
            contents.append(content)
            samples.append(sample)
        for kind, (by_json, by_xml) in pairs.items():
            from_json = sandbox.timeline(by_json, until=FINAL[kind], timeout=60)
            from_xml = sandbox.timeline(by_xml, until=FINAL[kind], timeout=60)
            assert comparable(from_xml) == comparable(from_json), kind
            assert from_xml["stages"][0]["detail"]["lane"] == from_json["stages"][0]["detail"][
                "lane"]
        assert comparable(sandbox.timeline(pairs["escalated"][1]))["priority"] == 1
        direct = redis.Redis.from_url(stack.redis_url or "")
        for content in contents:
            assert keys_holding(direct, content[40:200]) == [], "uploaded bytes reached Redis"
        assert keys_holding(direct, hashlib.md5(contents[0]).hexdigest().encode()), \
            "the hashes are there (the search works)"
        direct.close()
    finally:
        stack.stop()
    logs = "\n".join(p.read_text() for p in stack.logs().glob("*.log"))
    assert "file uploaded" in logs and "report opened" in logs
    for content in contents:
        assert content[40:200].decode() not in logs, "uploaded bytes reached a log"
    for value in personal_values(samples):
        assert value not in logs, "a personal value reached a log line"
