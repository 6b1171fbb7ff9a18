"""Test fixtures: a real Redis for every integration test, chosen in a fixed order and named."""

import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis

from shared.connect import connect_async, is_cluster
from shared.settings import DATA_DIR, TiplineSettings
from shared.topology import Topology
from tipline.stack import LocalCluster, RedisServer

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


def _wait_for(url: str, timeout: float = 15.0) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def start_testcontainer() -> tuple[str, object]:
    try:
        from testcontainers.community.redis import RedisContainer
    except ImportError:  # testcontainers before the community split
        from testcontainers.redis import RedisContainer

    container = RedisContainer(REDIS_IMAGE)
    container.start()
    url = f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(6379)}/0"
    # On a Linux host the container's own address is reachable: no userland proxy in between
    # (three times the throughput for large values).
    wrapped = container.get_wrapped_container()
    wrapped.reload()
    direct = wrapped.attrs.get("NetworkSettings", {}).get("IPAddress")
    if direct:
        try:
            _wait_for(f"redis://{direct}:6379/0", timeout=2)
            url = f"redis://{direct}:6379/0"
        except (redis.ConnectionError, OSError):
            pass
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
        data = Path(tempfile.mkdtemp(prefix="tipline-test-redis-"))
        local = RedisServer(data, appendonly=False).start()
        _chosen.append(f"redis-server on PATH (port {local.port})")
        try:
            yield local.url
        finally:
            local.stop()
            shutil.rmtree(data, ignore_errors=True)
        return
    pytest.fail(
        "no Redis for the integration tests: set TIPLINE_TEST_REDIS_URL, start a Docker engine, "
        "or install redis-server (apt-get install redis-server)",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis Cluster of 3 masters and 3 replicas (redis-server on PATH), started once per
    test process for the tests that run on a cluster as well as on one node."""
    if not shutil.which("redis-server"):
        pytest.fail("the cluster tests need redis-server on PATH (apt-get install redis-server)",
                    pytrace=False)
    cluster = LocalCluster(tmp_path_factory.mktemp("redis-cluster"))
    try:
        cluster.start()
        yield cluster.url
    finally:
        cluster.stop()


# Every process a test starts carries this mark in its environment (inherited from the run), so
# that the run can tell, at its end, whether any was left behind.
RUN_MARK = "PYTEST_TIPLINE_RUN"


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the run itself, not one of its xdist workers
        os.environ[RUN_MARK] = uuid.uuid4().hex


def _left_behind(mark: str) -> dict[int, str]:
    """Processes with this run's mark, other than this one: pid -> command line."""
    wanted = f"{RUN_MARK}={mark}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(
                    b"\0", b" ").decode(errors="replace")[:160]
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


@pytest.hookimpl(trylast=True)  # after xdist has stopped its workers
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a test left a process running (and stop it, so it does not outlive the
    run): every process a test starts, the test stops, also when it fails."""
    mark = os.environ.get(RUN_MARK)
    if hasattr(session.config, "workerinput") or not mark:
        return
    deadline = time.monotonic() + 10  # workers and their children may still be on their way out
    while (left := _left_behind(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    if not left:
        return
    sys.stderr.write("\nprocesses left running by the tests (now stopped):\n" + "".join(
        f"  pid {pid}: {cmd}\n" for pid, cmd in sorted(left.items())))
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fault-repeats", type=int, default=1,
                     help="how often each scenario of tests/faults runs (default: 1)")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _chosen:
        terminalreporter.write_line(f"Redis used by the integration tests: {_chosen[0]}")


@pytest.fixture
def test_id() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def topology(test_id: str, redis_url: str) -> Topology:
    """Every test's streams and keys under a prefix of its own: tests never share state, and run
    side by side (pytest -n) on one Redis."""
    return Topology(f"t{test_id}", cluster=is_cluster(redis_url))


@pytest.fixture
async def redis_client(redis_url: str, topology: Topology) -> AsyncIterator[aioredis.Redis]:
    client = connect_async(redis_url)
    yield client
    async for key in client.scan_iter(match=f"{topology.prefix}:*", count=1000):
        await client.unlink(key)
    await client.aclose()


Settings = Callable[..., Any]


@pytest.fixture
def make_settings(redis_url: str, topology: Topology, test_id: str) -> Settings:
    """Settings for services under test, passed explicitly: quick polling, quick reclaiming, quick
    simulated time, this test's prefix. `make_settings(IntakeSettings, max_body_bytes=2048)`."""

    def make(cls: type[TiplineSettings] = TiplineSettings, **overrides: Any) -> Any:
        base: dict[str, Any] = dict(
            redis_url=redis_url, prefix=topology.prefix, poll_ms=20, reclaim_idle_ms=300,
            consumer_name=f"test-{test_id}", sim_seconds_per_hour=0.01, log_format="json",
            stream_retention_s=3600,  # tests read the streams' history as their witness
        )
        return cls(**{**base, **overrides})

    return make


def directory_with(path: Path, **profile: Any) -> Path:
    """The shipped directory with every agency's profile changed as given."""
    data = json.loads((DATA_DIR / "agencies.json").read_text())
    for agency in data["agencies"]:
        agency["profile"].update(profile)
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def sure_directory(tmp_path: Path) -> Path:
    """Every agency acknowledges every case within simulated hours and reports an outcome: tests
    then wait for certainties, not for luck."""
    return directory_with(
        tmp_path / "agencies.json", never_ack_share=0.0, outcome_share=1.0,
        ack_median_hours={lane: 1.0 for lane in ("p1", "p2", "p3", "informational")},
        outcome_median_hours=2.0)
