"""A consumer group's backlog as the pipeline view and intake's back-pressure read it, right
where Redis's own count is not: after Redis restarts from its append-only file."""

import pytest
from redis.asyncio import Redis

from shared.groups import group_details, group_state
from tipline.stack import RedisServer

pytestmark = pytest.mark.integration


async def test_a_groups_lag_is_exact_after_redis_restarts_from_its_file(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    try:
        r = Redis.from_url(server.url)
        await r.xgroup_create("s", "g", id="0", mkstream=True)
        for i in range(50):
            await r.xadd("s", {"n": i})
        await r.xreadgroup("g", "c", {"s": ">"}, count=20)
        assert await group_state(r, {"g": ["s"]}) == [("s", "g", 30, 20)]
        await r.aclose()
        server.stop()  # SIGTERM: its append-only file written
        server.start()
        r = Redis.from_url(server.url)
        raw = (await r.xinfo_groups("s"))[0]
        assert raw["lag"] is None  # what Redis itself says now
        [found] = await group_details(r, {"g": ["s"]})
        assert (found.lag, found.pending) == (30, 20)
        await r.xreadgroup("g", "c", {"s": ">"}, count=100)
        assert await group_state(r, {"g": ["s"]}) == [("s", "g", 0, 50)]
        await r.xadd("s", {"n": 50})
        assert await group_state(r, {"g": ["s"]}) == [("s", "g", 1, 50)]
        await r.aclose()
    finally:
        server.stop()


async def test_a_group_with_nothing_to_read_has_no_lag_even_when_redis_counts_some(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    try:
        r = Redis.from_url(server.url)
        await r.xgroup_create("s", "g", id="0", mkstream=True)
        ids = [await r.xadd("s", {"n": i}) for i in range(10)]
        # a group whose count of entries read is wrong (as after a restart and a trim)
        await r.xgroup_setid("s", "g", id=ids[-1], entries_read=3)
        assert (await r.xinfo_groups("s"))[0]["lag"] == 7
        assert await group_state(r, {"g": ["s"]}) == [("s", "g", 0, 0)]
        await r.aclose()
    finally:
        server.stop()
