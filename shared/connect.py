"""A Redis client for a URL: one node, or a Redis Cluster.

`redis://`, `rediss://` and `unix://` name one node (redis-py's own URL forms).
`redis+cluster://[user:password@]host:port[,host:port...]` names a Redis Cluster by any of its
nodes (the client learns the others, and who serves which slot, from the first that answers):
every service, the CLI and the tests then speak to it through redis-py's RedisCluster, which
sends each command to the master serving its key's slot and follows the cluster through a
failover.
"""

from typing import Any
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster
from redis import exceptions as redis_exceptions

CLUSTER_SCHEME = "redis+cluster"

# What a cluster answers while a failover is under way (a master gone, its slots not yet taken
# over): the infrastructure's errors, like a connection refused, never a message's.
# RedisClusterException: no startup node answered (it is not a RedisError).
CLUSTER_UNAVAILABLE = (redis.exceptions.ClusterError, redis.exceptions.TryAgainError,
                       redis.exceptions.RedisClusterException)


class BadRedisUrl(ValueError):
    pass


def is_cluster(url: str) -> bool:
    return url.lower().startswith(CLUSTER_SCHEME + "://")


def cluster_nodes(url: str) -> tuple[list[tuple[str, int]], str | None, str | None]:
    """The nodes a cluster URL names, and its user name and password (None when absent)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != CLUSTER_SCHEME:
        raise BadRedisUrl(f"not a {CLUSTER_SCHEME}:// URL")
    auth, _, hosts = parts.netloc.rpartition("@")
    user, _, password = auth.partition(":")
    nodes: list[tuple[str, int]] = []
    for spec in filter(None, hosts.split(",")):
        host, sep, port = spec.rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise BadRedisUrl(f"{CLUSTER_SCHEME}:// URL: {spec!r} is not host:port")
        nodes.append((host.strip("[]"), int(port)))
    if not nodes:
        raise BadRedisUrl(f"{CLUSTER_SCHEME}:// URL names no node (host:port[,host:port...])")
    if parts.path not in ("", "/", "/0"):
        raise BadRedisUrl(f"{CLUSTER_SCHEME}:// URL: a cluster has one database, 0; not "
                          f"{parts.path.lstrip('/')!r}")
    return nodes, unquote(user) or None, unquote(password) if password else None


def connect_async(url: str, password: str | None = None, **options: Any) -> Any:
    """An asyncio client (redis.asyncio.Redis or RedisCluster: the same commands) for `url`;
    the URL's password wins over `password`."""
    if not is_cluster(url):
        return redis.asyncio.Redis.from_url(url, password=password, **options)
    nodes, user, url_password = cluster_nodes(url)
    return redis.asyncio.cluster.RedisCluster(
        startup_nodes=[redis.asyncio.cluster.ClusterNode(h, p) for h, p in nodes],
        username=user, password=url_password or password, **options)


def connect(url: str, password: str | None = None, **options: Any) -> Any:
    """A blocking client (redis.Redis or redis.cluster.RedisCluster) for `url`, for the CLI, the
    stack's own checks and the benchmark."""
    if not is_cluster(url):
        return redis.Redis.from_url(url, password=password, **options)
    nodes, user, url_password = cluster_nodes(url)
    return redis.cluster.RedisCluster(
        startup_nodes=[redis.cluster.ClusterNode(h, p) for h, p in nodes],
        username=user, password=url_password or password, **options)


class NotReplicated(Exception):
    """Fewer replicas than asked for acknowledged the writes in time."""


class Replicated:
    """What a writer answers for once `replicas` replicas hold its writes (`wait_for_replicas`
    on `mark`, a key of the writes' slot); with 0 replicas it waits for nothing."""

    def __init__(self, redis: Any, mark: str, replicas: int = 0, timeout_ms: int = 1000) -> None:
        self.redis, self.mark, self.replicas, self.timeout_ms = redis, mark, replicas, timeout_ms

    async def wait(self) -> None:
        if self.replicas:
            await wait_for_replicas(self.redis, self.mark, self.replicas, self.timeout_ms)


async def wait_for_replicas(redis: Any, mark: str, replicas: int, timeout_ms: int) -> int:
    """Until `replicas` replicas of the master serving `mark` hold every write that master took
    before this call (Redis WAIT); NotReplicated if fewer did within `timeout_ms`, or if the
    node asked is no longer the master.

    WAIT counts the writes of the connection it is sent on, and a cluster client gives no command
    a connection of its own (and may retry a command on another node): so `mark`, a key of the
    same slot as the writes, is incremented and WAIT sent after it on one connection taken from
    the master itself. The master replicates in order: a replica that holds the mark holds every
    earlier write."""
    commands = [("INCR", mark), ("WAIT", replicas, timeout_ms)]
    if hasattr(redis, "get_node_from_key"):  # a cluster: one connection of the mark's master
        if getattr(redis, "_initialize", False):
            await redis.initialize()
        node = redis.get_node_from_key(mark)
        connection = node.acquire_connection()
        try:
            await connection.send_packed_command(connection.pack_commands(commands))
            answers = [await connection.read_response() for _ in commands]
        except BaseException as exc:
            await connection.disconnect()  # a reply may be left unread on it
            if isinstance(exc, redis_exceptions.ResponseError):  # MOVED, READONLY: not the
                raise NotReplicated(f"the node asked is not the master now: {exc}") from None
            raise
        finally:
            node.release(connection)
    else:
        async with redis.pipeline(transaction=False) as pipe:  # one connection
            for command in commands:
                pipe.execute_command(*command)
            answers = await pipe.execute()
    acknowledged = int(answers[1])
    if acknowledged < replicas:
        raise NotReplicated(f"{acknowledged} of {replicas} replicas acknowledged within "
                            f"{timeout_ms} ms")
    return acknowledged
