"""Test fixtures: a real Redis for every integration test, chosen in a fixed order and named."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # the reaper image is not to be had

REDIS_IMAGE = "redis:7"
_chosen: list[str] = []


def docker_answers() -> bool:
    """True when a Docker engine answers within a second or two."""
    if not shutil.which("docker") and not os.environ.get("DOCKER_HOST"):
        return False
    try:
        import docker

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, timeout: float = 15.0) -> None:
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class LocalRedis:
    """A redis-server of the tests' own, on a free port, with its own data directory."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="tipline-test-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "LocalRedis":
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait_for(self.url)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def start_testcontainer() -> tuple[str, object]:
    try:
        from testcontainers.community.redis import RedisContainer
    except ImportError:  # testcontainers before the community split
        from testcontainers.redis import RedisContainer

    container = RedisContainer(REDIS_IMAGE)
    container.start()
    host = container.get_container_host_ip()
    port = container.get_exposed_port(6379)
    url = f"redis://{host}:{port}/0"
    _wait_for(url)
    return url, container


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """TIPLINE_TEST_REDIS_URL if set, else testcontainers when Docker answers, else a redis-server
    on PATH. None of them: the integration suite fails, loudly, rather than skipping."""
    given = os.environ.get("TIPLINE_TEST_REDIS_URL")
    if given:
        _chosen.append(f"TIPLINE_TEST_REDIS_URL ({given})")
        _wait_for(given)
        yield given
        return
    if docker_answers():
        url, container = start_testcontainer()
        _chosen.append(f"testcontainers ({REDIS_IMAGE} at {url})")
        try:
            yield url
        finally:
            container.stop()  # type: ignore[attr-defined]
        return
    if shutil.which("redis-server"):
        local = LocalRedis().start()
        _chosen.append(f"redis-server on PATH (port {local.port})")
        try:
            yield local.url
        finally:
            local.stop()
        return
    pytest.fail(
        "no Redis for the integration tests: set TIPLINE_TEST_REDIS_URL, start a Docker engine, "
        "or install redis-server (apt-get install redis-server)",
        pytrace=False,
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _chosen:
        terminalreporter.write_line(f"Redis used by the integration tests: {_chosen[0]}")


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client on an emptied database: no test sees another's streams."""
    client = aioredis.Redis.from_url(redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def test_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def fast_env(redis_url: str, test_id: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings for services under test: quick polling, quick reclaiming, quick simulated time."""
    env = {
        "TIPLINE_REDIS_URL": redis_url,
        "TIPLINE_POLL_MS": "20",
        "TIPLINE_RECLAIM_IDLE_MS": "300",
        "TIPLINE_CONSUMER_NAME": f"test-{test_id}",
        "TIPLINE_SIM_SECONDS_PER_HOUR": "0.01",
        "TIPLINE_LOG_FORMAT": "json",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def sure_directory(tmp_path: Path) -> Path:
    """The shipped directory with every agency acknowledging every case within simulated hours and
    reporting an outcome: tests then wait for certainties, not for luck."""
    import json

    from shared.settings import DATA_DIR

    data = json.loads((DATA_DIR / "agencies.json").read_text())
    for agency in data["agencies"]:
        agency["profile"]["never_ack_share"] = 0.0
        agency["profile"]["outcome_share"] = 1.0
        agency["profile"]["ack_median_hours"] = {lane: 1.0 for lane in ("p1", "p2", "p3", "informational")}
        agency["profile"]["outcome_median_hours"] = 2.0
    path = tmp_path / "agencies.json"
    path.write_text(json.dumps(data))
    return path
