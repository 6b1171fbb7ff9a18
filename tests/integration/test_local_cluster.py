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
