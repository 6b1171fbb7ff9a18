"""The command line against the real processes: playing an agency, the gap redrawn every second,
the chart for slides."""

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.faults import harness
from tests.helpers import ANALYST

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def tipline(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tipline", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def lines_until(proc: subprocess.Popen, done, timeout: float = 30) -> str:
    """What a process writes, read as it comes, until `done(all read so far)`; fails after
    `timeout` seconds."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    seen, deadline = "", time.monotonic() + timeout
    while not done(seen):
        try:
            seen += lines.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            raise AssertionError(f"not there after {timeout}s; read so far: {seen[-2000:]}") from None
    return seen


def test_a_person_plays_an_agency_and_watches_the_gap(tmp_path):
    stack = harness.fault_stack(tmp_path)
    try:
        tracker = stack.url("tracker")
        f = harness.flood(stack, n=300, run_id="cli")
        f.join(60)
        harness.settle(stack, set(f.accepted))
        queue = tipline("agency", "queue", "icac-wa", "--url", tracker)
        assert queue.returncode == 0, queue.stderr
        first = int(queue.stdout.splitlines()[1].split()[1])  # "  report <id> ..."
        acked = tipline("agency", "ack", "icac-wa", str(first), "--url", tracker)
        outcome = tipline("agency", "ack", "icac-wa", str(first), "--outcome", "arrest made",
                          "--url", tracker)
        again = tipline("agency", "ack", "icac-wa", str(first), "--url", tracker)
        process = tipline("agency", "legal-process", "icac-wa", str(first), "--url", tracker)
        wrong = tipline("agency", "queue", "icac-wa", "--url", tracker, "--key", "nope")
        chart = tipline("gap", "--png", str(tmp_path / "gap.png"), "--url", tracker)
        watching = subprocess.Popen([sys.executable, "-m", "tipline", "gap", "--watch", "--url",
                                     tracker], cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
        try:
            frames = lines_until(watching, lambda seen: seen.count("the handoff gap at") >= 2)
        finally:
            watching.send_signal(signal.SIGINT)
            rest, _ = watching.communicate(timeout=30)
        watched = frames + rest
        timeline = httpx.get(f"{tracker}/v1/reports/{first}", headers=ANALYST, timeout=10).json()
    finally:
        stack.stop()
    assert queue.stdout.startswith("icac-wa: ")
    assert "open case(s), by priority, preservation deadline, group size" in queue.stdout
    assert "days preserved" in queue.stdout
    assert process.returncode == 0 and "legal process recorded" in process.stdout
    assert acked.returncode == 0 and "acknowledged recorded" in acked.stdout
    assert outcome.returncode == 0 and "outcome recorded" in outcome.stdout
    assert again.returncode == 0 and "already recorded" in again.stdout
    assert wrong.returncode == 2 and "refused" in wrong.stderr
    assert chart.returncode == 0 and (tmp_path / "gap.png").stat().st_size > 10_000
    assert watching.returncode == 0 and watched.count("the handoff gap at") >= 2
    assert "by agency" in watched and "icac-wa" in watched
    [handoff] = [h for h in timeline["handoffs"] if h["agency"] == "icac-wa"]
    assert handoff["acknowledgedAt"] and handoff["outcome"] == "arrest made"
