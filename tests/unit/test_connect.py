"""Which Redis a URL names: one node, or a cluster by any of its nodes; a bad cluster URL is refused
when the settings are read, saying what is wrong."""

import pytest

from shared.connect import BadRedisUrl, cluster_nodes, connect, connect_async, is_cluster
from shared.settings import TiplineSettings


def test_a_cluster_url_names_its_nodes_and_credentials():
    assert cluster_nodes("redis+cluster://127.0.0.1:7000,redis-node-2:7001") == (
        [("127.0.0.1", 7000), ("redis-node-2", 7001)], None, None)
    assert cluster_nodes("redis+cluster://me:p%40ss@h:1/0") == ([("h", 1)], "me", "p@ss")
    assert cluster_nodes("REDIS+CLUSTER://[::1]:7000") == ([("::1", 7000)], None, None)


@pytest.mark.parametrize("url, said", [
    ("redis+cluster://", "names no node"),
    ("redis+cluster://host", "is not host:port"),
    ("redis+cluster://host:port", "is not host:port"),
    ("redis+cluster://h:1/3", "one database"),
])
def test_a_bad_cluster_url_is_refused_with_its_fault(url, said):
    with pytest.raises(BadRedisUrl, match=said):
        cluster_nodes(url)
    with pytest.raises(ValueError, match=f"TIPLINE_REDIS_URL: .*{said}"):
        TiplineSettings(redis_url=url)


def test_the_url_picks_the_client_and_the_topology():
    import redis.asyncio
    import redis.asyncio.cluster

    assert not is_cluster("redis://127.0.0.1:6379/0") and is_cluster("redis+cluster://h:1")
    # the asyncio clients connect on first use; the blocking cluster client at once
    assert isinstance(connect_async("redis+cluster://127.0.0.1:1"),
                      redis.asyncio.cluster.RedisCluster)
    assert isinstance(connect_async("redis://127.0.0.1:1/0"), redis.asyncio.Redis)
    assert isinstance(connect("redis://127.0.0.1:1/0"), redis.Redis)
    assert TiplineSettings(redis_url="redis+cluster://h:1").topology().cluster
    assert not TiplineSettings(redis_url="redis://h:1/0").topology().cluster
