"""The compose stack, built and started for real, on one Redis and (docker-compose.cluster.yml) on a
Redis Cluster of 3 masters and 3 replicas: a report submitted through it, read back."""

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import docker_answers
from tests.helpers import ANALYST, ESP

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "shared" / "data" / "samples" / "escalated.json"
PORTS = {"intake": 8001, "triage": 8002, "router": 8003, "tracker": 8004, "agencies": 8005}


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
    return ["docker", "compose"] if probe.returncode == 0 else None


FILES = {"one-redis": ["-f", "docker-compose.yml"],
         "redis-cluster": ["-f", "docker-compose.yml", "-f", "docker-compose.cluster.yml"]}


@pytest.fixture(params=list(FILES))
def compose_stack(request):
    if not docker_answers():
        pytest.skip("no Docker engine answers: the compose stack cannot start here")
    compose = compose_command()
    if not compose:
        pytest.skip("no compose client (docker-compose or docker compose) is installed")
    # host port 0: Docker gives each service a free port, read back once the stack is up
    env = {**os.environ, **{f"TIPLINE_{n.upper()}_HOST_PORT": "0" for n in PORTS}}
    project = [*FILES[request.param], "-p", f"tiplinetest{uuid.uuid4().hex[:8]}"]
    up = subprocess.run([*compose, *project, "up", "-d", "--build"], cwd=ROOT, env=env,
                        capture_output=True, text=True, timeout=900)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        urls = {}
        for name, port in PORTS.items():
            where = subprocess.run([*compose, *project, "port", name, str(port)], cwd=ROOT,
                                   env=env, capture_output=True, text=True, timeout=60)
            assert where.returncode == 0, where.stderr
            urls[name] = f"http://127.0.0.1:{where.stdout.strip().rsplit(':', 1)[1]}"
        yield urls
    finally:
        subprocess.run([*compose, *project, "down", "-v", "--remove-orphans"], cwd=ROOT, env=env,
                       capture_output=True, timeout=300)


def test_a_report_goes_through_the_compose_stack(compose_stack):
    deadline = time.monotonic() + 180
    while True:
        try:
            if all(httpx.get(f"{url}/readyz", timeout=2).status_code == 200
                   for url in compose_stack.values()):
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the compose stack did not become ready"
        time.sleep(1)
    r = httpx.post(f"{compose_stack['intake']}/v1/reports", json=json.loads(SAMPLE.read_text()),
                   headers=ESP, timeout=10)
    assert r.status_code == 202, r.text
    report_id = r.json()["reportId"]
    deadline = time.monotonic() + 60
    while True:
        t = httpx.get(f"{compose_stack['tracker']}/v1/reports/{report_id}", timeout=5,
                      headers=ANALYST)
        stages = {s["stage"] for s in t.json()["stages"]} if t.status_code == 200 else set()
        if {"submitted", "triaged", "routed"} <= stages:
            break
        assert time.monotonic() < deadline, f"report {report_id} stuck at {sorted(stages)}"
        time.sleep(0.5)
    assert t.json()["priority"] == 1 and t.json()["agency"] == "icac-ca-sacramento"
