"""Joins redis-servers started with `--cluster-enabled yes` into a Redis Cluster, as
`redis-cli --cluster create --cluster-replicas 1` does: the first third (of 6 nodes) or half
masters, each given an equal range of the 16,384 slots and its own config epoch, every node met,
each other node made a master's replica, then until every node says the cluster is ok.

In Python so that one path serves `tipline up --cluster`, the tests and the compose profile's
one-shot container (the app image has no redis-cli):

    python -m tipline.cluster redis-node-1:6379 redis-node-2:6379 ... [--replicas 1]

It does nothing to nodes that are already a cluster (a container started again).
"""

import argparse
import os
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable

import redis

SLOTS = 16_384


class ClusterError(RuntimeError):
    pass


def until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` (a node not answering counts as not yet) until it holds; ClusterError
    naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            pass
        if time.monotonic() > deadline:
            raise ClusterError(f"{what}: not within {timeout:g}s")
        time.sleep(0.1)


def _info(client: redis.Redis) -> dict[str, str]:
    """CLUSTER INFO as a dict."""
    text = client.execute_command("CLUSTER", "INFO").decode()
    return dict(line.split(":", 1) for line in text.split() if ":" in line)


def ready(clients: list[redis.Redis], replicas: int = 1) -> bool:
    """Whether every node asked says the cluster is ok and every master serving slots has
    `replicas` replicas in sync with it (so that WAIT can be answered)."""
    if not clients or any(_info(c)["cluster_state"] != "ok" for c in clients):
        return False
    serving = {n[0] for n in _nodes(clients[0]) if "master" in n[2] and len(n) > 8}
    in_sync = Counter()
    for client in clients:
        me = next(n for n in _nodes(client) if "myself" in n[2])
        if "slave" in me[2] and client.info("replication").get("master_link_status") == "up":
            in_sync[me[3]] += 1
    return all(in_sync[master] >= replicas for master in serving)


def _nodes(client: redis.Redis) -> list[list[str]]:
    """CLUSTER NODES, a list of fields per node: id, address, flags, master id, ..., slots."""
    return [line.split() for line in
            client.execute_command("CLUSTER", "NODES").decode().splitlines() if line]


def join(nodes: list[tuple[str, int]], replicas: int = 1, password: str | None = None,
         timeout: float = 60) -> None:
    """Make these nodes one cluster, `replicas` replicas a master (nodes in order: the masters
    first). Nodes that are already a cluster are only completed: a node not yet met is met, a
    replica not yet replicating is made one."""
    try:
        _join(nodes, replicas, password, timeout)
    except redis.ResponseError as exc:
        raise ClusterError(f"a node refused: {exc} (to begin afresh, stop the nodes and delete "
                           "their nodes.conf)") from None


def _join(nodes: list[tuple[str, int]], replicas: int, password: str | None,
          timeout: float) -> None:
    masters = len(nodes) // (replicas + 1)
    if len(nodes) % (replicas + 1) or masters < 3:
        raise ClusterError(f"{len(nodes)} nodes do not make 3 or more masters with {replicas} "
                           "replica(s) each")
    clients = [redis.Redis(host=host, port=port, password=password, socket_timeout=5)
               for host, port in nodes]
    until(lambda: all(c.ping() for c in clients), timeout, "every node to answer")

    if all(int(_info(c)["cluster_known_nodes"]) == 1 for c in clients):  # none is a cluster yet
        for i, client in enumerate(clients[:masters]):
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", i * SLOTS // masters,
                                   (i + 1) * SLOTS // masters - 1)
            client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
    # CLUSTER MEET takes an address, not a name; meeting a node met before changes nothing
    for host, port in nodes[1:]:
        clients[0].execute_command("CLUSTER", "MEET", socket.gethostbyname(host), port)

    def agreed() -> bool:  # every node knows every other, none still in a handshake, and
        views = [_nodes(c) for c in clients]  # the first knows who serves every slot
        return all(len(v) == len(nodes) and not any("handshake" in n[2] or "noaddr" in n[2]
                                                    for n in v) for v in views) and int(
            _info(clients[0])["cluster_slots_assigned"]) == SLOTS

    until(agreed, timeout, "every node to know every other and every slot to be served")

    def serving(view: list[list[str]]) -> list[str]:  # masters with slots, by id
        return [n[0] for n in view if "master" in n[2] and len(n) > 8]

    # A master without slots (every node of the second part, when the cluster is new; one that
    # came back empty) becomes the replica of the serving master with the fewest.
    by_id = {c.execute_command("CLUSTER", "MYID").decode(): c for c in clients}
    view = _nodes(clients[0])
    count = {m: sum(1 for n in view if n[3] == m) for m in serving(view)}
    for n in view:
        if "master" in n[2] and len(n) <= 8 and count:
            master = min(count, key=lambda m: (count[m], list(count).index(m)))
            by_id[n[0]].execute_command("CLUSTER", "REPLICATE", master)
            count[master] += 1

    until(lambda: ready(clients, replicas), timeout, "every node to say the cluster is ok, "
          "every master with its replica in sync")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tipline.cluster", description="Join redis-servers started with "
        "--cluster-enabled yes into a Redis Cluster (masters first); nothing is done to nodes "
        "that are already one. The password is TIPLINE_REDIS_PASSWORD when set.")
    parser.add_argument("nodes", nargs="+", metavar="HOST:PORT")
    parser.add_argument("--replicas", type=int, default=1, help="replicas a master (default: 1)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds (default: 60)")
    args = parser.parse_args(argv)
    nodes = []
    for spec in args.nodes:
        host, _, port = spec.rpartition(":")
        if not host or not port.isdigit():
            parser.error(f"{spec!r} is not HOST:PORT")
        nodes.append((host, int(port)))
    try:
        join(nodes, args.replicas, os.environ.get("TIPLINE_REDIS_PASSWORD") or None,
             args.timeout)
    except ClusterError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    sys.stdout.write(f"a Redis Cluster of {len(nodes)} nodes is ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
