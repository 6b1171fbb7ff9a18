"""Breaking the stack on purpose: real processes, a Redis the test owns, a flood of reports
submitted the way a careful client does (Idempotency-Key, retry on 503 or no answer), and the
checks every fault must pass: every accepted report placed exactly once, nothing left pending,
no personal value in any log line."""

import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared.connect import connect, is_cluster
from shared.directory import load_directory
from shared.synthetic import scenario
from shared.topology import Topology
from tests.conftest import directory_with
from tests.helpers import ESP, found_in, personal_values
from tipline import accounting
from tipline.stack import RedisServer, Stack, instance_name

KEY = ESP
RECLAIM_IDLE_MS = 1000  # short, so that the races of reclaiming are exercised


def quick_directory(path: Path) -> Path:
    """Agencies that answer within simulated hours and never queue: a run drains in seconds."""
    return directory_with(
        path, capacity_per_day=100_000, never_ack_share=0.1, outcome_share=0.3, ack_spread=0.3,
        ack_median_hours={lane: 1.0 for lane in ("p1", "p2", "p3", "informational")},
        outcome_median_hours=2.0)


def fault_stack(tmp_path: Path, replicas: dict[str, int] | None = None,
                fsync: str = "everysec", consumer_name: str | None = None,
                poll_ms: int = 50, cluster: bool = False) -> Stack:
    """The stack on a Redis of the test's own: one redis-server, or (`cluster`) a local Redis
    Cluster of 3 masters and 3 replicas, intake answering 202 once a replica holds a report."""
    settings = {
        "TIPLINE_RECLAIM_IDLE_MS": str(RECLAIM_IDLE_MS), "TIPLINE_POLL_MS": str(poll_ms),
        "TIPLINE_SIM_SECONDS_PER_HOUR": "0.02",
        # no re-notification (a second case in the same inbox): lower lanes still go dark
        "TIPLINE_SLA_P1_HOURS": "1000000",
        "TIPLINE_DIRECTORY_FILE": str(quick_directory(tmp_path / "agencies.json")),
        "TIPLINE_LOG_LEVEL": "INFO",
        "TIPLINE_STREAM_RETENTION_S": "3600",  # every case counted in the streams at the end
    }
    if consumer_name:
        settings["TIPLINE_CONSUMER_NAME"] = consumer_name
    stack = Stack.on_free_ports(tmp_path / "stack", settings=settings, replicas=replicas or {},
                                cluster_masters=3 if cluster else 0)
    if not cluster:
        stack.redis_server = RedisServer(tmp_path / "redis", fsync=fsync,
                                         log_path=stack.logs() / "redis.log").start()
        stack.redis_url = stack.redis_server.url
        stack.processes["redis"] = stack.redis_server.proc  # type: ignore[assignment]
    try:
        stack.start(timeout=90)
    except BaseException:
        stack.stop()
        raise
    return stack


def client(stack: Stack) -> Any:
    """A blocking client of the stack's Redis, one node or a cluster."""
    return connect(stack.redis_url or "")


def topology(stack: Stack) -> Topology:
    return Topology(cluster=is_cluster(stack.redis_url or ""))
    return stack


@dataclass(eq=False)
class Flood(threading.Thread):
    """Submits reports in batches, each with an Idempotency-Key, retrying until answered."""

    intake: str
    reports: list[dict[str, Any]]
    batch: int = 50
    pause_s: float = 0.1
    run_id: str = "run"
    accepted: dict[int, int] = field(default_factory=dict)  # report id -> index of the report
    retries: int = 0
    error: str | None = None

    def __post_init__(self) -> None:
        super().__init__(daemon=True)

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.intake, timeout=15) as client:
                for start in range(0, len(self.reports), self.batch):
                    self._submit(client, start)
                    time.sleep(self.pause_s)
        except Exception as exc:  # reported by the test, not lost in a thread
            self.error = f"{type(exc).__name__}: {exc}"

    def _submit(self, client: httpx.Client, start: int) -> None:
        chunk = self.reports[start:start + self.batch]
        headers = {**KEY, "Idempotency-Key": f"{self.run_id}-{start}"}
        deadline = time.monotonic() + 90
        while True:
            try:
                r = client.post("/v1/reports/batch", json={"reports": chunk}, headers=headers)
                if r.status_code == 200:
                    for result in r.json()["results"]:
                        assert result["status"] == 202, result
                        self.accepted[result["reportId"]] = start + result["index"]
                    return
                assert r.status_code == 503, f"{r.status_code}: {r.text[:300]}"
            except httpx.HTTPError:
                pass
            self.retries += 1
            assert time.monotonic() < deadline, "intake did not accept a batch within 90 s"
            time.sleep(0.2)


def until(condition: Callable[[], object], timeout: float = 60, what: str = "condition") -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def placed(stack: Stack) -> int:
    """Reports the tracker has placed so far."""
    return accounting.ledger_placed(client(stack), topology(stack))


def in_full_flow(stack: Stack, f: "Flood", share: float = 0.2) -> int:
    """Wait until a share of the flood is accepted and the tracker has placed some of it: the
    pipeline is busy. How many the tracker had placed then."""
    until(lambda: len(f.accepted) >= share * len(f.reports) and placed(stack) > 0,
          what=f"{share:.0%} of the flood accepted and placing begun")
    return placed(stack)


def flood(stack: Stack, n: int = 600, seed: int = 1, run_id: str = "run") -> Flood:
    f = Flood(stack.url("intake"), scenario(n, seed=seed), run_id=run_id)
    f.start()
    return f


# ---- faults ----

def kill(stack: Stack, name: str) -> None:
    proc = stack.processes[name]
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def holds_entries(stack: Stack, service: str, consumer: str) -> bool:
    """Whether a consumer has entries read and not acknowledged in any of the service's streams."""
    r = client(stack)
    streams = topology(stack).consumed(_agency_ids(stack))[service]
    pipe = r.pipeline(transaction=False)
    for stream in streams:
        pipe.xpending_range(stream, service, "-", "+", 1, consumername=consumer)
    return any(pipe.execute(raise_on_error=False))


def pause_until_taken_over(stack: Stack, name: str, service: str) -> None:
    """SIGSTOP one replica of a service once it is seen holding entries while stopped, and keep
    it stopped until another replica has taken every one of them over (past the reclaim time);
    then SIGCONT. A stop that caught it holding none is undone at once and tried again."""
    pid = stack.processes[name].pid
    consumer = f"{socket.gethostname()}-{pid}"
    for _ in range(50):
        until(lambda: holds_entries(stack, service, consumer), timeout=10,
              what=f"{name} to hold entries")
        os.kill(pid, signal.SIGSTOP)
        # entries Redis hands a stopped reader in a blocking read count too
        try:
            until(lambda: holds_entries(stack, service, consumer), timeout=0.5)
        except AssertionError:
            os.kill(pid, signal.SIGCONT)
            continue
        try:
            until(lambda: not holds_entries(stack, service, consumer), timeout=60,
                  what=f"another replica to take over what {name} holds")
        finally:
            os.kill(pid, signal.SIGCONT)
        return
    raise AssertionError(f"{name} never held entries while stopped: no race to exercise")


def _agency_ids(stack: Stack) -> list[str]:
    return [a.id for a in load_directory(Path(stack.settings["TIPLINE_DIRECTORY_FILE"])).agencies]


def restart(stack: Stack, service: str, consumer_name: str | None = None) -> None:
    stack.start_service(service, 1, consumer_name)
    stack.wait_ready(90, names=(instance_name(service, 1),))


# ---- checks ----

def settle(stack: Stack, accepted: set[int], timeout: float = 120) -> None:
    """Wait until the tracker has placed every accepted report and nothing is left to do."""
    r, t = client(stack), topology(stack)
    placed, left = accounting.settle(r, t, t.consumed(_agency_ids(stack)),
                                     len(accepted), timeout, also_empty=[t.agency_schedule])
    assert placed >= len(accepted) and not left, (
        f"not settled after {timeout}s: placed {placed} of {len(accepted)}; left: {left}")


def check_exactly_once(stack: Stack, accepted: set[int]) -> dict[str, Any]:
    """Every accepted report submitted, triaged and placed exactly once; every agency inbox holds
    each case at most once (counted in the streams, tipline.accounting)."""
    found = accounting.account(client(stack), topology(stack), _agency_ids(stack))
    problems = found.problems(accepted)
    assert not problems, problems
    return {"reports": len(accepted), **found.summary()}


def check_logs_hold_no_personal_value(stack: Stack, reports: list[dict[str, Any]]) -> None:
    logs = "\n".join(p.read_text(errors="replace") for p in stack.logs().glob("*.log"))
    leaked = found_in(personal_values(reports), logs)
    assert not leaked, f"personal values in the logs: {leaked[:5]}"
