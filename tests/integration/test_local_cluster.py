"""A Redis Cluster of our own (tipline.stack.LocalCluster, tipline.cluster): formed from six
redis-servers, every master with its replica; joining it again changes nothing, also after a
failover (a container started again runs the join again)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tipline import cluster
from tipline.stack import LocalCluster

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def roles(c: LocalCluster) -> dict[int, str]:
    return {node.port: c.client(node).info("replication")["role"] for node in c.live()}


def test_a_cluster_is_formed_and_joining_it_again_changes_nothing(tmp_path):
    c = LocalCluster(tmp_path / "cluster", password="cluster-pw").start()
    try:
        before = roles(c)
        assert sorted(before.values()) == ["master"] * 3 + ["slave"] * 3
        addresses = [f"127.0.0.1:{node.port}" for node in c.nodes]
        again = subprocess.run([sys.executable, "-m", "tipline.cluster", *addresses],
                               cwd=ROOT, capture_output=True, text=True, timeout=60,
                               env={"TIPLINE_REDIS_PASSWORD": "cluster-pw", "PATH": "/usr/bin"})
        assert again.returncode == 0, again.stderr
        assert "a Redis Cluster of 6 nodes is ok" in again.stdout
        assert roles(c) == before

        # a master dies, its replica takes over; started again, it rejoins as a replica, and a
        # join run then (as a one-shot container would) completes without an error
        master = c.master_of("{p0}")
        master.stop(kill=True)
        deadline = time.monotonic() + 30
        while c.master_of("{p0}") is master:
            assert time.monotonic() < deadline, "no replica was promoted"
            time.sleep(0.1)
        master.start()
        cluster.join([("127.0.0.1", node.port) for node in c.nodes], 1, "cluster-pw", 30)
        c.wait_ok(30)
        after = roles(c)
        assert after[master.port] == "slave" and sorted(after.values()) == sorted(before.values())
    finally:
        c.stop()


def test_too_few_nodes_for_a_cluster_is_refused():
    with pytest.raises(cluster.ClusterError, match="3 or more masters"):
        cluster.join([("127.0.0.1", 1), ("127.0.0.1", 2), ("127.0.0.1", 3), ("127.0.0.1", 4)])


def test_redis_down_on_a_cluster_of_our_own_kills_the_pipelines_master(tmp_path):
    """The workshop's redis-down fault, carried out by `tipline up`'s supervisor when it runs a
    cluster: the master serving the pipeline is killed, its replica promoted; when the fault is
    over the node is started again and rejoins as a replica."""
    from shared.clock import ManualClock
    from shared.connect import connect
    from shared.faults import fault
    from shared.topology import Topology
    from tipline.stack import Stack
    from tipline.supervisor import Supervisor

    stack = Stack(tmp_path / "stack", cluster_masters=3)
    stack.redis_url = stack.start_redis()
    assert stack.cluster is not None
    try:
        t, clock = Topology(cluster=True), ManualClock()
        supervisor = Supervisor(stack, t, clock)
        master = stack.cluster.master_of(t.key("reports"))
        down = fault("redis-down", "stack", 5, clock.now())
        connect(stack.redis_url).hset(t.faults, down.field, down.to_json())
        supervisor.step()
        assert master.proc is not None and master.proc.poll() is not None  # killed
        deadline = time.monotonic() + 30
        while stack.cluster.master_of(t.key("reports")) is master:
            assert time.monotonic() < deadline, "no replica was promoted"
            time.sleep(0.1)
        clock.advance(6)
        supervisor.step()  # the fault is over: the node is started again
        stack.cluster.wait_ok(30)
        assert stack.cluster.client(master).info("replication")["role"] == "slave"
        assert "killed (SIGKILL)" in supervisor.said[0]
        assert "rejoins as a replica" in supervisor.said[-1]
    finally:
        stack.stop()
