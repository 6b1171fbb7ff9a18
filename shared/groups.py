"""Consumer groups: created at the start of their streams before anything is published."""

from collections.abc import Sequence
from dataclasses import dataclass

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
    return [(d.stream, d.group, d.lag, d.pending)
            for d in await group_details(redis, groups, consumers=False)]


@dataclass(frozen=True)
class GroupDetail:
    """A consumer group on a stream, as the pipeline view draws it."""

    stream: str
    group: str
    lag: int  # entries not yet read
    pending: int  # read, not yet acknowledged
    entries_read: int  # read so far (a rate is its change over time)
    consumers: int  # consumers that read or claimed within the last `live_ms`


COUNT_UP_TO = 10_000  # a lag Redis cannot tell is counted, up to this many entries


async def group_details(redis: Redis, groups: dict[str, Sequence[str]], live_ms: int = 10_000,
                        consumers: bool = True) -> list[GroupDetail]:
    """Every group of these streams with its backlog, progress and (`consumers`) live consumers.

    Redis's own lag of a group is not always right: after Redis restarts from its append-only
    file it does not know it until the group has read everything (it says nil), and trims in the
    meantime leave it counting entries that were never there. So a group that has read up to
    the stream's last entry has no lag, whatever Redis says, and a lag Redis does not know is
    counted (up to COUNT_UP_TO). One round trip, a second only for lags Redis does not know."""
    wanted = [(group, stream) for group, streams in groups.items() for stream in streams]
    per = 3 if consumers else 2
    async with redis.pipeline(transaction=False) as pipe:
        for group, stream in wanted:
            pipe.xinfo_groups(stream)
            pipe.xrevrange(stream, count=1)
            if consumers:
                pipe.xinfo_consumers(stream, group)
        replies = await pipe.execute(raise_on_error=False)
    found: list[tuple[str, str, int | None, int, int, int, bytes]] = []
    for i, (group, stream) in enumerate(wanted):
        info, last, members = replies[i * per], replies[i * per + 1], (
            replies[i * per + 2] if consumers else [])
        if isinstance(info, Exception):
            continue
        for g in info:
            if _text(g["name"]) != group:
                continue
            delivered = _id(g["last-delivered-id"])
            newest = _id(last[0][0]) if isinstance(last, list) and last else (0, 0)
            lag = 0 if delivered >= newest else g.get("lag")
            live = 0 if isinstance(members, Exception) else sum(
                1 for c in members if int(c.get("idle", live_ms)) < live_ms)
            found.append((stream, group, None if lag is None else int(lag), int(g["pending"]),
                          int(g.get("entries-read") or 0), live, g["last-delivered-id"]))
    unknown = [x for x in found if x[2] is None]
    if unknown:
        async with redis.pipeline(transaction=False) as pipe:
            for stream, _, _, _, _, _, delivered in unknown:
                pipe.xrange(stream, min=b"(" + _bytes(delivered), count=COUNT_UP_TO)
            counted = iter(await pipe.execute(raise_on_error=False))
    return [GroupDetail(stream, group,
                        lag if lag is not None else _count(next(counted)), pending, read, live)
            for stream, group, lag, pending, read, live, _ in found]


def _id(value: bytes | str) -> tuple[int, int]:
    ms, _, seq = _text(value).partition("-")
    return int(ms), int(seq or 0)


def _count(reply: object) -> int:
    return len(reply) if isinstance(reply, list) else 0


def _bytes(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
