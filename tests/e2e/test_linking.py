"""Linking end to end, on the real processes: one offender reported by two ESPs in two states, then
a third report citing the first through priorCTReports. The group, the routing bases, the
deconfliction notices (acknowledged by the mock agencies) and the gap's figures, read from the
API."""

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.test_pipeline import ROOT, stack_env, started, timeline_with
from tests.helpers import ANALYST
from tests.report_builder import build

pytestmark = pytest.mark.e2e

ESPS = {"esp-one": "key-one", "esp-two": "key-two"}


def offender(location: tuple[str, str] | None, prior: int | None = None) -> dict[str, Any]:
    body = build(user=("id",), location=location)
    suspect = body["personOrUserReported"]
    suspect["espService"], suspect["espIdentifier"] = "Synthetic Chat", "offender-77"
    if prior is not None:
        suspect["priorCTReports"] = [prior]
    return body


def poll(read: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = read()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_one_offender_across_two_esps_and_states_is_linked_routed_and_deconflicted(
        tmp_path, redis_url, sure_directory, topology):
    env = stack_env(tmp_path, sure_directory, redis_url, prefix=topology.prefix)
    env["TIPLINE_ESP_KEYS"] = ",".join(f"{name}:{key}" for name, key in ESPS.items())
    env["TIPLINE_AGENCY_KEYS"] = "icac-oh:e2e-oh-key-not-secret"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tipline", "up", "--state-dir", str(tmp_path / "state")],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        urls = started(proc)
        intake, tracker = urls["intake"], urls["tracker"]

        def file(body: dict[str, Any], esp: str) -> int:
            r = httpx.post(f"{intake}/v1/reports", json=body, timeout=10,
                           headers={"Authorization": f"Bearer {ESPS[esp]}"})
            assert r.status_code == 202, r.text
            return r.json()["reportId"]

        first = file(offender(("US", "OH")), "esp-one")
        timeline_with(tracker, first, {"routed"})
        second = file(offender(("US", "GA")), "esp-two")
        timeline_with(tracker, second, {"routed"})
        third = file(offender(None, prior=first), "esp-two")
        routed = timeline_with(tracker, third, {"routed"})

        # the group: all three, named by the first, with the agencies holding each
        assert routed["group"] == first and routed["groupSize"] == 3
        assert [(m["reportId"], m["agency"]) for m in routed["groupMembers"]] == [
            (first, "icac-oh"), (second, "icac-ga"), (third, "icac-oh")]
        # the routing bases: each state's own task force, then the holder of the group
        bases = {}
        for report_id in (first, second, third):
            t = httpx.get(f"{tracker}/v1/reports/{report_id}", headers=ANALYST, timeout=5).json()
            stage = next(s for s in t["stages"] if s["stage"] == "routed")
            bases[report_id] = (t["agency"], stage["detail"]["why"], stage["detail"]["basis"])
        assert bases == {
            first: ("icac-oh", "jurisdiction", "estimatedLocation"),
            second: ("icac-ga", "jurisdiction", "estimatedLocation"),
            third: ("icac-oh", "linked", f"linked to report {first} held by icac-oh")}
        assert {(x["reportId"], tuple(x["bases"])) for x in routed["links"]} == {
            (first, ("esp-account", "prior-report"))}  # the account's first holder; 2 by the group

        # the deconfliction notices, on both sides of each split, acknowledged by the agencies
        def notices_acknowledged() -> dict[int, list[tuple[str, int, str, bool]]] | None:
            found = {}
            for report_id in (first, second, third):
                t = httpx.get(f"{tracker}/v1/reports/{report_id}", headers=ANALYST,
                              timeout=5).json()
                found[report_id] = sorted((n["agency"], n["otherReport"], n["otherAgency"],
                                           n["acknowledgedAt"] is not None) for n in t["notices"])
            done = all(ack for notices in found.values() for *_, ack in notices)
            return found if done and sum(map(len, found.values())) == 4 else None
        notices = poll(notices_acknowledged, "four notices acknowledged")
        assert notices == {
            first: [("icac-oh", second, "icac-ga", True)],
            second: [("icac-ga", first, "icac-oh", True), ("icac-ga", third, "icac-oh", True)],
            third: [("icac-oh", second, "icac-ga", True)]}

        # the gap's figures
        gap = httpx.get(f"{tracker}/v1/gap", headers=ANALYST, timeout=5).json()
        linking = gap["linking"]
        assert (linking["groups"], linking["linkedReports"], linking["routedByGroup"],
                linking["deconflictions"], linking["noticesSent"],
                linking["noticesAcknowledged"]) == (1, 3, 1, 2, 4, 4)
        assert linking["timeToNoticeAck"]["count"] == 4
        oh = next(r for r in gap["byAgency"] if r["name"] == "icac-oh")
        ga = next(r for r in gap["byAgency"] if r["name"] == "icac-ga")
        assert (oh["noticesSent"], ga["noticesSent"]) == (2, 2)
        assert gap["preservation"]["days"] == 365 and gap["preservation"]["expiredBeforeAck"] == 0
        assert gap["routed"] == 3 and gap["unassigned"] == 0

        # the command line a person playing an agency uses: the notice is acknowledged already
        def agency(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "tipline", "agency", *args, "--url",
                                   tracker, "--key", "e2e-oh-key-not-secret"], cwd=ROOT, env=env,
                                  capture_output=True, text=True, timeout=30)
        again = agency("ack-notice", "icac-oh", str(first), "--other", str(second))
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip() == (f"report {first} at icac-oh: notice about report "
                                        f"{second} already acknowledged")
        unknown = agency("ack-notice", "icac-oh", str(first), "--other", str(third + 1000))
        assert unknown.returncode == 1 and "has no notice about report" in unknown.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
