"""The real processes, started as a user starts them, one report of each kind through all stages."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shared.connect import connect, is_cluster
from shared.settings import DATA_DIR
from tests.helpers import ANALYST, ESP, on_one_node_and_a_cluster, personal_values
from tipline.stack import SERVICES

pytestmark = pytest.mark.e2e
redis_url = on_one_node_and_a_cluster()  # every test on one node and on a cluster

SAMPLES = DATA_DIR / "samples"
KEY = ESP
ROOT = Path(__file__).resolve().parents[2]


def stack_env(tmp_path: Path, directory: Path, redis_url: str | None,
              prefix: str = "tipline") -> dict[str, str]:
    """Every service on a port the system picks (0), as `tipline up` takes it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIPLINE_")}
    env.update({f"TIPLINE_{s.upper()}_PORT": "0" for s in SERVICES})
    env.update({
        "TIPLINE_DIRECTORY_FILE": str(directory), "TIPLINE_PREFIX": prefix,
        "TIPLINE_SIM_SECONDS_PER_HOUR": "0.01", "TIPLINE_POLL_MS": "20",
        "TIPLINE_SLA_P1_HOURS": "1000",  # these tests follow acknowledgements, not breaches
    })
    if redis_url:
        env["TIPLINE_REDIS_URL"] = redis_url
    return env


def started(proc: subprocess.Popen, said: list[str] | None = None) -> dict[str, str]:
    """The services' URLs, as `tipline up` prints them once every one is ready (and every line it
    printed until then in `said`)."""
    urls = {}
    for line in proc.stdout or []:
        if said is not None:
            said.append(line)
        name, _, rest = line.partition(":")
        if name in SERVICES and rest.strip().startswith("http://"):
            urls[name] = rest.split()[0]
        if line.startswith("logs:"):
            return urls
    raise AssertionError(f"tipline up exited before it was ready: {proc.wait(30)}")


def timeline_with(tracker: str, report_id: int, stages: set[str], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = httpx.get(f"{tracker}/v1/reports/{report_id}", timeout=5, headers=ANALYST)
        if r.status_code == 200 and stages <= {s["stage"] for s in r.json()["stages"]}:
            return r.json()
        if time.monotonic() > deadline:
            raise AssertionError(f"report {report_id} never reached {sorted(stages)}: {r.text}")
        time.sleep(0.1)


def test_each_kind_of_report_reaches_the_end_of_its_path(
    tmp_path, redis_url, sure_directory, topology
):
    env = stack_env(tmp_path, sure_directory, redis_url, prefix=topology.prefix)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tipline", "up", "--state-dir", str(tmp_path / "state")],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        urls = started(proc)
        intake, tracker = urls["intake"], urls["tracker"]
        samples = {k: json.loads((SAMPLES / f"{k}.json").read_text())
                   for k in ("escalated", "referral", "informational", "no_location")}
        ids = {}
        for kind, body in samples.items():
            r = httpx.post(f"{intake}/v1/reports", json=body, headers=KEY, timeout=10)
            assert r.status_code == 202, r.text
            ids[kind] = r.json()["reportId"]

        escalated = timeline_with(tracker, ids["escalated"],
                                  {"submitted", "triaged", "routed", "acknowledged", "outcome"})
        referral = timeline_with(tracker, ids["referral"],
                                 {"submitted", "triaged", "routed", "acknowledged"})
        informational = timeline_with(tracker, ids["informational"],
                                      {"submitted", "triaged", "routed", "acknowledged"})
        nowhere = timeline_with(tracker, ids["no_location"], {"submitted", "triaged", "unassigned"})

        assert (escalated["priority"], escalated["lane"], escalated["agency"]) == (
            1, "p1", "icac-ca-sacramento")
        stages = [s["stage"] for s in escalated["stages"]]
        assert stages == ["submitted", "triaged", "routed", "handoff", "acknowledged", "outcome"]
        assert [s["at"] for s in escalated["stages"]] == sorted(s["at"] for s in escalated["stages"])
        assert escalated["stages"][0]["detail"]["lane"] == "escalated"
        assert referral["disposition"] == "referral" and referral["agency"] == "icac-oh"
        assert referral["stages"][2]["detail"]["basis"] == "ipCaptureEvent"
        assert informational["disposition"] == "informational"
        assert informational["agency"] == "intl-mock-gb"
        assert nowhere["unassignedReasons"] == ["only_proxy_ips"] and nowhere["agency"] is None
        assert "routed" not in {s["stage"] for s in nowhere["stages"]}
        assert [(h["agency"], h["why"]) for h in nowhere["handoffs"]] == [
            ("federal-mock-fbi", "unassigned_offer")]

        gap = subprocess.run(
            [sys.executable, "-m", "tipline", "gap", "--url", tracker], env=env, cwd=ROOT,
            capture_output=True, text=True, timeout=30,
        )
        assert gap.returncode == 0, gap.stderr
        assert "routed 3" in gap.stdout and "unassigned 1" in gap.stdout
        assert "cases handed to agencies: 4" in gap.stdout
        assert "icac-ca-sacramento" in gap.stdout and "federal-mock-fbi" in gap.stdout
        if is_cluster(redis_url):  # every key the pipeline made is in one slot, on one master
            direct = connect(redis_url)
            made = list(direct.scan_iter(match=f"{topology.prefix}:*", count=1000))
            assert len(made) > 20
            assert {direct.keyslot(key) for key in made} == {direct.keyslot(made[0])}
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)

    assert proc.returncode == 0, output
    assert "stopped" in output and "unclean" not in output
    logs = {p.name: p.read_text() for p in (tmp_path / "state" / "logs").glob("*.log")}
    assert {"intake.log", "triage.log", "router.log", "agencies.log", "tracker.log"} <= set(logs)
    every_line = "\n".join(logs.values())
    for value in personal_values(list(samples.values())):
        assert value not in every_line, "a personal value reached a log line"
    triage_lines = [json.loads(line) for line in logs["triage.log"].splitlines()
                    if line.startswith("{") and "report triaged" in line]
    assert {line["report_id"] for line in triage_lines} == set(ids.values())
    assert all(line["event_id"] and line["service"] == "triage" for line in triage_lines)


def test_the_demo_starts_its_own_redis_and_prints_the_gap(tmp_path, sure_directory):
    env = stack_env(tmp_path, sure_directory, redis_url=None)
    env["TIPLINE_REDIS_PASSWORD"] = "demo-redis-pw"  # its own Redis asks for it
    result = subprocess.run(
        [sys.executable, "-m", "tipline", "demo", "--count", "20", "--settle", "1",
         "--exit-after-demo", "--state-dir", str(tmp_path / "state")],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "redis:      redis://:***@127.0.0.1:" in result.stdout
    assert "demo-redis-pw" not in result.stdout + result.stderr
    assert "routed, unassigned or bundled: 24/24" in result.stdout
    assert "reports: submitted 24  triaged 24" in result.stdout
    assert "by agency" in result.stdout and "by lane" in result.stdout
    assert (tmp_path / "state" / "redis" / "appendonlydir").is_dir()  # AOF on for its own Redis


def test_up_starts_a_redis_cluster_of_its_own(tmp_path, sure_directory):
    """`tipline up --cluster 3`: six redis-servers joined into a cluster, the services on it, a
    report through to its agency, every node stopped at the end (the run checks none is left)."""
    env = stack_env(tmp_path, sure_directory, redis_url=None)
    env["TIPLINE_REDIS_PASSWORD"] = "cluster-redis-pw"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tipline", "up", "--cluster", "3", "--state-dir",
         str(tmp_path / "state")],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    said: list[str] = []
    try:
        urls = started(proc, said)
        body = json.loads((SAMPLES / "escalated.json").read_text())
        r = httpx.post(f"{urls['intake']}/v1/reports", json=body, headers=KEY, timeout=10)
        assert r.status_code == 202, r.text
        timeline = timeline_with(urls["tracker"], r.json()["reportId"], {"routed"})
        assert timeline["agency"] == "icac-ca-sacramento"
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    output = "".join(said) + output
    assert proc.returncode == 0, output
    assert "starting a Redis Cluster of 3 masters" in output
    assert "redis:      redis+cluster://:***@127.0.0.1:" in output
    assert "cluster-redis-pw" not in output
    assert "redis-cluster" in output.splitlines()[-1] and "unclean" not in output
    nodes = sorted((tmp_path / "state" / "redis-cluster").glob("node-*/appendonlydir"))
    assert len(nodes) == 6  # every node keeps an append-only file
