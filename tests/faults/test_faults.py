"""Faults injected mid-flood into the real processes. After each: every accepted report placed
exactly once (counted in every agency inbox and in the routed and unassigned streams, not only in
the ledger), nothing pending, no personal value logged.

Each scenario runs once in `make test`; `make test-faults` runs each several times
(`--fault-repeats`), since the races differ from run to run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from shared.schemas.events import CaseAssigned
from shared.topology import Topology
from tests.faults import harness

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

ROOT = Path(__file__).resolve().parents[2]
CONSUMERS = ["triage", "router", "agencies", "tracker"]


def finish(stack, f: harness.Flood) -> dict:
    f.join(120)
    assert not f.is_alive() and f.error is None, f.error
    accepted = set(f.accepted)
    assert len(accepted) == len(f.reports)
    harness.settle(stack, accepted)
    counts = harness.check_exactly_once(stack, accepted)
    harness.check_logs_hold_no_personal_value(stack, f.reports)
    return counts


@pytest.mark.parametrize("service", [*CONSUMERS, "intake"])
@pytest.mark.parametrize("name", ["same", "new"])
def test_kill_9_mid_flood_then_restart(tmp_path, service, name, fault_run):
    """kill -9 of a service mid-flood; restarted under the same consumer name (as compose does,
    by host name) or a new one."""
    stack = harness.fault_stack(tmp_path, consumer_name="fault-consumer")
    try:
        f = harness.flood(stack, run_id=f"kill-{service}-{name}-{fault_run}", seed=fault_run)
        placed_at_kill = harness.in_full_flow(stack, f)
        accepted_at_kill, retries_at_kill = len(f.accepted), f.retries
        harness.kill(stack, service)
        # down while the flood goes on: intake's clients are refused, the others' work piles up
        harness.until(lambda: f.retries > retries_at_kill if service == "intake" else (
            len(f.accepted) > accepted_at_kill or not f.is_alive()), what="the flood to go on")
        harness.restart(stack, service, None if name == "same" else "fault-consumer-reborn")
        counts = finish(stack, f)
    finally:
        stack.stop()
    # the kill landed mid-flood: reports were still to be placed when the service died
    assert placed_at_kill < counts["reports"] == counts["reports_placed"]


@pytest.mark.parametrize("service", CONSUMERS)
def test_a_replica_paused_past_the_reclaim_time_while_holding_a_batch(tmp_path, service,
                                                                      fault_run):
    """SIGSTOP of one of two replicas for longer than the reclaim idle time: the other takes over
    its pending entries; when it wakes it finishes them too, and its commits write nothing.
    Reads block for 2 s, so Redis goes on handing new entries to the stopped replica, as it does
    to any consumer that stalls inside a blocking read."""
    stack = harness.fault_stack(tmp_path, replicas={service: 2}, poll_ms=2000)
    try:
        f = harness.flood(stack, run_id=f"pause-{service}-{fault_run}", seed=fault_run)
        harness.in_full_flow(stack, f)
        harness.pause_until_taken_over(stack, f"{service}-2", service)
        finish(stack, f)
        reclaimed = sum(_metric(stack, name, "tipline_entries_reclaimed_total")
                        for name in (service, f"{service}-2"))
        twins = sum(_metric(stack, name, "tipline_entries_duplicate_total")
                    for name in (service, f"{service}-2"))
    finally:
        stack.stop()
    assert reclaimed > 0, "nothing was taken over: no race exercised"
    assert twins > 0, "the paused replica never committed a twin: no race exercised"


def _metric(stack, name: str, metric: str) -> float:
    import httpx

    text = httpx.get(f"{stack.url(name)}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(metric + "{"))


@pytest.mark.parametrize("how", ["restart", "kill-9 with appendfsync always"])
def test_redis_restarts_mid_flood(tmp_path, how, fault_run):
    """Redis goes away and comes back with its append-only file: intake answers 503 meanwhile and
    the services carry on where they were."""
    stack = harness.fault_stack(tmp_path, fsync="always" if "always" in how else "everysec")
    try:
        f = harness.flood(stack, run_id=f"redis-{fault_run}", seed=fault_run)
        placed_at_restart = harness.in_full_flow(stack, f)
        assert stack.redis_server is not None
        stack.redis_server.restart(kill="kill" in how)
        counts = finish(stack, f)
    finally:
        stack.stop()
    assert f.retries > 0, "intake never answered 503 while Redis was away"
    assert placed_at_restart < counts["reports"], "Redis restarted after the flood was placed"


def test_a_cluster_master_killed_mid_flood_fails_over_and_loses_nothing(tmp_path, fault_run):
    """kill -9 of the Redis Cluster master serving the pipeline's slot mid-flood: its replica is
    promoted, and every report intake answered 202 for (a replica held it first:
    TIPLINE_ACCEPT_REPLICAS=1) is placed exactly once. The promoted master has no replica until
    the dead node is started again (as a container's restart policy would) and rejoins as one:
    intake answers 503 until then."""
    stack = harness.fault_stack(tmp_path, cluster=True)
    assert stack.cluster is not None
    slot_key = harness.topology(stack).key("reports")
    try:
        f = harness.flood(stack, run_id=f"failover-{fault_run}", seed=fault_run)
        placed_at_kill = harness.in_full_flow(stack, f)
        master = stack.cluster.master_of(slot_key)
        master.stop(kill=True)
        harness.until(lambda: stack.cluster.master_of(slot_key) is not master, timeout=60,
                      what="the dead master's replica to be promoted")
        master.start()  # rejoins the cluster as the promoted master's replica
        counts = finish(stack, f)
        promoted = stack.cluster.master_of(slot_key)
    finally:
        stack.stop()
    assert promoted is not master  # the node that came back did not take its slots back
    assert f.retries > 0, "intake never answered 503 while the master was away"
    assert placed_at_kill < counts["reports"] == counts["reports_placed"]


def test_poison_messages_are_dead_lettered_and_the_rest_goes_on(tmp_path, fault_run):
    """An entry that is not JSON, and a case no agency can take: dead-lettered with their reasons
    (the case after its last delivery), listed by tipline dlq; every report still placed once."""
    stack = harness.fault_stack(tmp_path)
    t = Topology()
    try:
        f = harness.flood(stack, run_id=f"poison-{fault_run}", seed=fault_run)
        r = redis.Redis.from_url(stack.redis_url)
        harness.in_full_flow(stack, f)
        r.xadd(t.triaged["p2"], {b"data": b"\xff not json"})
        stray = CaseAssigned(esp="test-esp", report_id=999_999, producer="test", agency_id="nowhere",
                             priority=2,
                             lane="p2", jurisdiction="US-OH", incident_type="x")
        r.xadd(t.agency_inbox("icac-oh"), {b"data": stray.model_dump_json().encode()})
        finish(stack, f)

        def dlq(*args: str) -> subprocess.CompletedProcess:
            return subprocess.run([sys.executable, "-m", "tipline", "dlq", *args, "--url",
                                   stack.url("tracker")], cwd=ROOT, capture_output=True,
                                  text=True, timeout=60)

        letters = dlq("list")
        shown = [json.loads(x[b"data"]) for _, x in r.xrange(t.dead_letters)]
        case_id = next(i.decode() for i, x in r.xrange(t.dead_letters)
                       if json.loads(x[b"data"])["group"] == "agencies")
        show = dlq("show", case_id)
        replay, again = dlq("replay", case_id), dlq("replay", case_id)
    finally:
        stack.stop()
    by_group = sorted((x["group"], x["source_stream"]) for x in shown)
    assert by_group == sorted([("router", t.triaged["p2"]), ("tracker", t.triaged["p2"]),
                               ("agencies", t.agency_inbox("icac-oh"))])
    case = next(x for x in shown if x["group"] == "agencies")
    assert case["deliveries"] == 3 and "KeyError" in case["reason"]
    assert letters.returncode == 0 and letters.stdout.count("\n") == 3, letters.stdout
    assert show.returncode == 0, show.stderr
    assert json.loads(show.stdout)["payload"]["data"]["agency_id"] == "nowhere"
    assert replay.returncode == 0 and "replayed to" in replay.stdout, replay.stderr
    assert again.returncode == 1 and "replayed before" in again.stderr
