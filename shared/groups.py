"""Consumer groups: created at the start of their streams before anything is published."""

from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import ResponseError


async def ensure_groups(redis: Redis, groups: dict[str, Sequence[str]]) -> None:
    """Create every consumer group at the start of its stream, so no entry is written to a stream
    whose readers would start after it. One round trip for all of them."""
    async with redis.pipeline(transaction=False) as pipe:
        for group, streams in groups.items():
            for stream in streams:
                pipe.xgroup_create(stream, group, id="0", mkstream=True)
        replies = await pipe.execute(raise_on_error=False)
    for reply in replies:
        if isinstance(reply, ResponseError) and "BUSYGROUP" not in str(reply):
            raise reply
        if isinstance(reply, Exception) and not isinstance(reply, ResponseError):
            raise reply


async def missing_groups(redis: Redis, groups: dict[str, Sequence[str]]) -> list[str]:
    wanted = [(group, stream) for group, streams in groups.items() for stream in streams]
    async with redis.pipeline(transaction=False) as pipe:
        for _, stream in wanted:
            pipe.xinfo_groups(stream)
        replies = await pipe.execute(raise_on_error=False)
    missing = []
    for (group, stream), reply in zip(wanted, replies, strict=True):
        names = set() if isinstance(reply, Exception) else {_text(g["name"]) for g in reply}
        if group not in names:
            missing.append(f"{stream} (group {group})")
    return missing


async def group_state(redis: Redis, groups: dict[str, Sequence[str]]) -> list[tuple[str, str, int, int]]:
    """(stream, group, lag, pending) for every group of these streams: entries not yet read, and
    read but not acknowledged."""
    wanted = [(group, stream) for group, streams in groups.items() for stream in streams]
    async with redis.pipeline(transaction=False) as pipe:
        for _, stream in wanted:
            pipe.xinfo_groups(stream)
        replies = await pipe.execute(raise_on_error=False)
    state = []
    for (group, stream), reply in zip(wanted, replies, strict=True):
        if isinstance(reply, Exception):
            continue
        for g in reply:
            if _text(g["name"]) == group:
                state.append((stream, group, int(g.get("lag") or 0), int(g["pending"])))
    return state


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
