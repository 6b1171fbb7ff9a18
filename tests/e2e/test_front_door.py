"""No input slows the front door: a real intake process, fed what a hostile client sends.

Each test starts its own intake process (a fresh peak memory), measures that process (its peak
resident memory from /proc, the time to its answer, /healthz's answers meanwhile) and writes the
figures to test-artifacts/front-door/. What is asserted is behaviour: the answer, the memory bound,
/healthz answered 200 within HEALTH_WITHIN_S (never 503) while the door is under load; the other
times are recorded, not judged."""

import json
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.synthetic import synthetic_report
from tests.helpers import BASIC, ESP
from tipline.stack import Stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "front-door"
MB = 1 << 20
HEALTH_WITHIN_S = 2.0  # the bound on each /healthz answer while the door is under load
XML = {**BASIC, "Content-Type": "text/xml; charset=utf-8"}


class Intake:
    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.url = stack.url("intake")
        self.port = stack.ports["intake"]

    @property
    def pid(self) -> int:
        return self.stack.processes["intake"].pid

    def peak_rss(self) -> int:
        """The process's peak resident memory so far (VmHWM), in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM in /proc status")

    def log(self) -> str:
        return (self.stack.logs() / "intake.log").read_text()


@pytest.fixture
def intake(tmp_path: Path, redis_url: str) -> Iterator[Intake]:
    stack = Stack.on_free_ports(tmp_path, redis_url=redis_url, settings={
        "TIPLINE_PREFIX": f"t{uuid.uuid4().hex[:10]}", "TIPLINE_HTTP_HEADER_TIMEOUT_S": "1",
        "TIPLINE_HTTP_BODY_TIMEOUT_S": "3", "TIPLINE_HTTP_MAX_CONCURRENCY": "20"})
    stack.start_service("intake")
    try:
        stack.wait_ready(30, names=("intake",))
        door = Intake(stack)
        with httpx.Client(base_url=door.url, timeout=10) as client:  # warm: both APIs once
            assert client.post("/v1/reports", json=synthetic_report("referral"),
                               headers=ESP).status_code == 202
            assert client.post("/ispws/submit", content=b"<report/>", headers=XML).status_code == 200
        yield door
    finally:
        stack.stop()


class HealthProbe:
    """/healthz asked over and over, each on a new connection, while something else goes on."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[int, float]] = []  # (status, seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                status = httpx.get(f"{self.url}/healthz", timeout=HEALTH_WITHIN_S).status_code
            except httpx.HTTPError:
                status = 0
            self.answers.append((status, time.perf_counter() - started))
            self._stop.wait(0.05)

    def __enter__(self) -> "HealthProbe":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def summary(self) -> dict:
        times = sorted(t for _, t in self.answers)
        return {"probes": len(self.answers), "statuses": sorted({s for s, _ in self.answers}),
                "slowest_s": round(times[-1], 3) if times else None}


def record(name: str, figures: dict) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(figures, indent=2) + "\n")


def post_measured(intake: Intake, path: str, body: bytes, headers: dict) -> tuple[httpx.Response,
                                                                                 dict]:
    before = intake.peak_rss()
    with HealthProbe(intake.url) as probe:
        started = time.perf_counter()
        r = httpx.post(f"{intake.url}{path}", content=body, headers=headers, timeout=60)
        seconds = time.perf_counter() - started
    figures = {"body_bytes": len(body), "answer_s": round(seconds, 3),
               "peak_rss_growth_mb": round((intake.peak_rss() - before) / MB, 1),
               "healthz": probe.summary()}
    assert probe.answers and {s for s, _ in probe.answers} == {200}, figures
    return r, figures


def test_a_document_of_many_elements_is_refused_at_the_parse_with_bounded_memory(intake):
    document = b"<report>" + b"<x/>" * 150_000 + b"</report>"  # 600 kB, under the body limit
    r, figures = post_measured(intake, "/ispws/submit", document, XML)
    record("many-elements", figures)
    assert "<responseCode>4110</responseCode>" in r.text and "elements" in r.text
    assert figures["peak_rss_growth_mb"] < 30, figures


@pytest.mark.parametrize("encoding", ["x-unknown", "Shift_JIS"])
def test_an_unsupported_encoding_is_4110_and_logs_no_error(intake, encoding):
    document = f'<?xml version="1.0" encoding="{encoding}"?><report/>'.encode()
    r = httpx.post(f"{intake.url}/ispws/submit", content=document, headers=XML, timeout=10)
    assert "<responseCode>4110</responseCode>" in r.text and "encoding" in r.text
    levels = {json.loads(line).get("level") for line in intake.log().splitlines()
              if line.startswith("{")}
    assert levels and not levels & {"error", "critical"}, levels


def test_a_40_mb_batch_of_1001_reports_is_refused_within_a_memory_bound(intake):
    report = synthetic_report("referral")
    report["additionalInfo"] = "x" * 39_100  # each report about 40 kB (its count is refused first)
    body = json.dumps({"reports": [report] * 1001}).encode()
    assert len(body) > 40_000_000
    r, figures = post_measured(intake, "/v1/reports/batch", body,
                               {**ESP, "Content-Type": "application/json"})
    record("batch-over-count", figures)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "too_long", r.text
    # The body is read once (and copied once); no report of it is read.
    assert figures["peak_rss_growth_mb"] < 3 * len(body) / MB + 30, figures


def test_a_batch_of_1000_invalid_reports_costs_their_errors_only(intake):
    invalid = synthetic_report("referral")
    invalid["incidentSummary"]["incidentType"] = "not a type"
    invalid["files"] = [{"fileName": "x"} for _ in range(30)]  # each lacks its hashes
    invalid["additionalInfo"] = "x" * 1800
    body = json.dumps({"reports": [invalid] * 1000}).encode()
    assert len(body) > 3_000_000
    r, figures = post_measured(intake, "/v1/reports/batch", body,
                               {**ESP, "Content-Type": "application/json"})
    record("batch-invalid", figures)
    assert r.status_code == 200 and r.json()["accepted"] == 0 and r.json()["rejected"] == 1000
    first = r.json()["results"][0]
    assert len(first["detail"]) == 20 and first["errorCount"] > 20
    assert figures["peak_rss_growth_mb"] < 10 * len(body) / MB + 30, figures


def _slow(port: int, headers_done: bool) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if headers_done:  # the headers whole, the body promised and never sent
        sock.sendall(b"POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: " + ESP["Authorization"].encode() +
                     b"\r\nContent-Length: 100000\r\n\r\n{")
    else:  # the headers begun, never finished
        sock.sendall(b"POST /v1/reports HTTP/1.1\r\nHost: x\r\n")
    return sock


def _closed_by_server(sock: socket.socket, deadline: float) -> bytes | None:
    """What the server sent before closing the connection, or None if it kept it open."""
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    received = b""
    try:
        while chunk := sock.recv(4096):
            received += chunk
        return received
    except TimeoutError:
        return None
    except ConnectionResetError:
        return received


def test_two_hundred_slow_clients_cannot_take_the_door(intake):
    slow = [_slow(intake.port, headers_done=i % 2 == 1) for i in range(200)]
    try:
        with HealthProbe(intake.url) as probe:
            deadline = time.monotonic() + 10
            while len(probe.answers) < 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            report = httpx.post(f"{intake.url}/v1/reports", json=synthetic_report("escalated"),
                                headers=ESP, timeout=10)
        assert report.status_code == 202, report.text
        assert {s for s, _ in probe.answers} == {200}, probe.summary()
        # Each slow connection is closed by intake: beyond the 64 of an address at once, or at
        # its deadline (headers 1 s, body 3 s here), answered 408.
        deadline = time.monotonic() + 15
        ends = [_closed_by_server(s, deadline) for s in slow]
        assert None not in ends, f"{ends.count(None)} slow connections still open"
        timed_out = [e for e in ends if e and b" 408 " in e.split(b"\r\n", 1)[0]]
        assert timed_out, "no slow connection was answered 408 at its deadline"
        record("slow-clients", {"connections": len(slow), "healthz": probe.summary(),
                                "ends": Counter(e.split(b"\r\n", 1)[0].decode() or "closed"
                                                for e in ends if e is not None)})
    finally:
        for s in slow:
            s.close()


def test_requests_over_the_concurrency_limit_get_503_but_health_is_answered(intake):
    held = [_slow(intake.port, headers_done=True) for _ in range(25)]  # over the limit of 20
    try:
        deadline = time.monotonic() + 10
        while True:  # until the slow requests hold every slot
            r = httpx.post(f"{intake.url}/v1/reports", json=synthetic_report("referral"),
                           headers=ESP, timeout=10)
            if r.status_code == 503 or time.monotonic() > deadline:
                break
        assert r.status_code == 503 and r.headers.get("retry-after"), r.text
        assert httpx.get(f"{intake.url}/healthz", timeout=5).status_code == 200
        assert httpx.get(f"{intake.url}/readyz", timeout=5).status_code == 200
    finally:
        for s in held:
            s.close()
    deadline = time.monotonic() + 10  # and the slots come back once the clients are gone
    while (r := httpx.post(f"{intake.url}/v1/reports", json=synthetic_report("referral"),
                           headers=ESP, timeout=10)).status_code != 202:
        assert time.monotonic() < deadline, r.text
        time.sleep(0.05)
