"""tipline.testing as an ESP's test suite uses it: the sandbox container started by its pytest
fixture, a report filed through the XML reporting API, its timeline read back (docs/ispws.md)."""

import hashlib
from xml.etree import ElementTree as ET

import httpx
import pytest

from tests.conftest import docker_answers
from tipline.testing import (
    build_image,
    tipline_sandbox,  # noqa: F401  (the fixture, as pytest_plugins gives it)
)

pytestmark = [
    pytest.mark.e2e, pytest.mark.docker,
    pytest.mark.skipif(not docker_answers(), reason="no Docker engine answers: the sandbox "
                       "container cannot start here"),
]

@pytest.fixture(scope="session", autouse=True)
def current_image() -> None:
    """The image of this tree, not one left from an earlier build (the layers cache the rest)."""
    build_image()


REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<report>
  <incidentSummary>
    <incidentType>Online Enticement of Children for Sexual Acts</incidentType>
    <escalateToHighPriority>Synthetic: a meeting is planned</escalateToHighPriority>
    <reportAnnotations><sextortion/></reportAnnotations>
    <incidentDateTime>2026-03-01T10:00:00Z</incidentDateTime>
  </incidentSummary>
  <reporter>
    <reportingPerson><email type="Work">trust@esp.example.com</email></reportingPerson>
  </reporter>
  <personOrUserReported>
    <screenName>synthetic_suspect</screenName>
    <estimatedLocation><city>Sacramento</city><region>CA</region><countryCode>US</countryCode>
    </estimatedLocation>
  </personOrUserReported>
  <victim><victimPerson><age>14</age></victimPerson></victim>
</report>"""


def call(http: httpx.Client, path: str, **kwargs) -> ET.Element:
    r = http.post(path, **kwargs)
    assert r.status_code == 200 and r.headers["Request-ID"], r.text
    answer = ET.fromstring(r.content)
    assert answer.findtext("responseCode") == "0", r.text
    return answer


def test_an_esp_files_through_the_sandbox_and_reads_the_timeline(tipline_sandbox):  # noqa: F811
    sandbox = tipline_sandbox
    with httpx.Client(base_url=sandbox.ispws_url, auth=sandbox.ispws_auth, timeout=10) as http:
        assert ET.fromstring(http.get("/status").content).findtext("responseCode") == "0"
        report_id = call(http, "/submit", content=REPORT,
                         headers={"Content-Type": "text/xml"}).findtext("reportId")
        upload = call(http, "/upload", data={"id": report_id},
                      files={"file": ("a.jpg", b"synthetic bytes", "image/jpeg")})
        assert upload.findtext("hash") == hashlib.md5(b"synthetic bytes").hexdigest()
        call(http, "/finish", data={"id": report_id})
    timeline = sandbox.timeline(int(report_id), until={"routed"}, timeout=90)
    assert timeline["priority"] == 1 and timeline["lane"] == "p1"
    assert timeline["agency"] == "icac-ca-sacramento"
    assert timeline["stages"][0]["detail"]["lane"] == "escalated"
