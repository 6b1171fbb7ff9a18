"""Two real CyberTipline clients, as platforms use them, file a report through /ispws on a running
intake: ncmec-cybertip (Python; reads every answer with strict models of the documented
documents) and @civitai/cybertipline-tools (TypeScript; writes the XML Schema instance attributes
on its documents). Both are installed by `make setup` (tests/clients/install.sh) when this
machine can run them; otherwise these tests skip, saying why."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import redis

from shared import devkeys
from tipline.stack import Stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "tests" / "clients"
PYTHON_CLIENT = ROOT / ".venv" / "clients" / "python" / "bin" / "python"
NODE_CLIENT = CLIENTS / "node_modules" / "@civitai" / "cybertipline-tools"
USER, PASSWORD = devkeys.ESP, devkeys.ISPWS_PASSWORD


@pytest.fixture
def intake(tmp_path, redis_url, topology):
    stack = Stack.on_free_ports(tmp_path / "stack", redis_url=redis_url,
                                settings={"TIPLINE_PREFIX": topology.prefix})
    stack.start_service("intake")
    try:
        stack.wait_ready(60, names=("intake",))
        yield stack
    finally:
        stack.stop()


def run_client(command: list[str], intake: Stack) -> dict:
    done = subprocess.run([*command, f"{intake.url('intake')}/ispws", USER, PASSWORD],
                          capture_output=True, text=True, timeout=120, cwd=CLIENTS)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def published(redis_url: str, topology, report_id: int) -> list[dict]:
    direct = redis.Redis.from_url(redis_url)
    try:
        events = [json.loads(fields[b"data"]) for stream in topology.submitted.values()
                  for _, fields in direct.xrange(stream)]
    finally:
        direct.close()
    return [e for e in events if e["report_id"] == report_id]


def test_the_python_client_files_a_report_and_reads_every_answer(intake, redis_url, topology):
    if not PYTHON_CLIENT.exists():
        pytest.skip("ncmec-cybertip is not installed (it needs Python 3.13+): see "
                    "tests/clients/install.sh")
    result = run_client([str(PYTHON_CLIENT), str(CLIENTS / "file_report.py")], intake)
    assert result["status"] == 0 and result["details"] == 0
    assert len(result["fileId"]) == 32 and len(result["hash"]) == 32
    assert result["done"] == {"responseCode": 0, "reportId": result["reportId"],
                              "fileIds": [result["fileId"]]}
    assert result["again"] == {"code": 5102, "reportId": result["reportId"]}
    [event] = published(redis_url, topology, result["reportId"])
    assert event["esp"] == USER


def test_the_typescript_client_files_a_report_with_schema_instance_attributes(intake, redis_url,
                                                                              topology):
    if not NODE_CLIENT.exists() or not shutil.which("node"):
        pytest.skip("@civitai/cybertipline-tools is not installed (it needs Node.js and npm): "
                    "see tests/clients/install.sh")
    result = run_client(["node", str(CLIENTS / "file_report.mjs")], intake)
    assert result["status"] == 0 and result["details"] == 0
    assert result["done"]["responseCode"] == 0 and result["done"]["reportId"] == result["reportId"]
    assert result["again"]["responseCode"] == 5102
    [event] = published(redis_url, topology, result["reportId"])
    assert event["esp"] == USER
