"""Helpers the tests share: run an app in-process, wait for a condition, read a stream."""

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import ahocorasick_rs
import httpx
import pytest
from fastapi import FastAPI
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from services.tracker.ledger import STAGES
from shared import bodies, devkeys, wire
from shared.schemas.events import ReportSubmitted
from shared.schemas.report import FiledReport
from shared.topology import Topology

T = TypeVar("T")


ESP = {"Authorization": f"Bearer {devkeys.ESP_KEY}"}
ANALYST = {"Authorization": f"Bearer {devkeys.ANALYST_KEY}"}
ADMIN = {"Authorization": f"Bearer {devkeys.ADMIN_KEY}"}
AGENCY = {"Authorization": f"Bearer {devkeys.AGENCY_KEY}"}  # icac-wa's
BASIC = {"Authorization": "Basic " + base64.b64encode(devkeys.ISPWS_USERS.encode()).decode()}


@asynccontextmanager
async def running(app: FastAPI, headers: dict[str, str] | None = None
                  ) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (readers, background workers) and an HTTP client on it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     headers=headers) as client:
            yield client


async def eventually(check: Callable[[], Awaitable[T]], timeout: float = 10.0,
                     what: str = "condition") -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def stream_events(redis: Redis, stream: str) -> list[dict[str, Any]]:
    """Every entry of a stream, decoded from its JSON field."""
    return [json.loads(fields[b"data"]) for _, fields in await redis.xrange(stream)]


_IDS = ("local ids = {} for i, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+'))"
        " do ids[i] = e[1] end return ids")


async def entry_ids(redis: Redis, stream: str) -> list[bytes]:
    """The ids of a stream's entries, without their bodies (a backlog of the largest reports is
    tens of megabytes that a test's observer need not read)."""
    return await redis.eval(_IDS, 1, stream)


_LAST_ID = "local e = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1) return e[1] and e[1][1]"


async def last_id(redis: Redis, stream: str) -> bytes | None:
    """The id of a stream's newest entry, without its body; None when it is empty."""
    return await redis.eval(_LAST_ID, 1, stream) or None


async def has_entries(redis: Redis, stream: str, n: int) -> bool:
    """At least n entries in the stream (for `eventually`)."""
    return await redis.xlen(stream) >= n


# What Redis holds deflated: report bodies, timeline stages.
STORED_FORMS = (bodies.FORMS, STAGES)


def _readable(value: bytes | None) -> list[Any]:
    """A value as stored and, when it is stored deflated, as its JSON."""
    found: list[Any] = [value]
    for forms in STORED_FORMS if value else ():
        try:
            found.append(forms.unpack(value))  # type: ignore[arg-type]
        except ValueError:
            pass
    return found


def _values(redis: SyncRedis, key: bytes) -> list[Any]:
    kind = redis.type(key)
    kind = kind.decode() if isinstance(kind, bytes) else kind
    if kind == "string":
        return _readable(redis.get(key))
    if kind == "hash":
        return [x for field, value in redis.hgetall(key).items()
                for x in (field, *_readable(value))]
    if kind == "list":
        return redis.lrange(key, 0, -1)
    if kind in ("set", "zset"):
        return list(redis.smembers(key)) if kind == "set" else redis.zrange(key, 0, -1)
    if kind == "stream":
        return [x for _, fields in redis.xrange(key) for pair in fields.items() for x in pair]
    return []


def keys_holding(redis: SyncRedis, needle: bytes) -> list[bytes]:
    """Every key of the client's database whose name or any value holds `needle`: strings, hashes,
    lists, sets, sorted sets and streams read back value by value (a DUMP could be compressed),
    deflated bodies and timeline stages inflated."""
    found = []
    for key in redis.scan_iter(match="*", count=1000):
        values = _values(redis, key)
        if needle in key or any(needle in (v or b"") for v in values):
            found.append(key)
    return found


def submitted(report_id: int, report: FiledReport, esp: str = "test-esp") -> ReportSubmitted:
    return ReportSubmitted(report_id=report_id, producer="test", esp=esp,
                           lane="escalated" if report.escalated else "standard")


def queue_submitted(pipe: Any, topology: Topology, report_id: int, report: FiledReport,
                    esp: str = "test-esp") -> ReportSubmitted:
    """Queue a report as intake publishes it: its body stored once, its event on its lane."""
    event = submitted(report_id, report, esp)
    pipe.set(topology.report_body(report_id), bodies.encode(report))
    pipe.xadd(topology.submitted[event.lane], wire.encode(event))
    return event


async def stored_report(redis: Redis, topology: Topology, report_id: int) -> dict[str, Any]:
    """The body intake stored for a report (its JSON), or an AssertionError."""
    body = await redis.get(topology.report_body(report_id))
    assert body is not None, f"no body stored for report {report_id}"
    return json.loads(bodies.unpack(body))


async def publish_submitted(redis: Redis, topology: Topology, report_id: int,
                            report: FiledReport, esp: str = "test-esp") -> ReportSubmitted:
    async with redis.pipeline(transaction=True) as pipe:
        event = queue_submitted(pipe, topology, report_id, report, esp)
        await pipe.execute()
    return event


class CuttingProxy:
    """A TCP proxy in front of Redis that loses the connection in the middle of a command: it
    passes `marker` (MULTI, EVALSHA) and `after` more bytes, then closes, and refuses every
    connection after. Redis runs no command it did not receive whole, and discards a transaction
    whose EXEC never came."""

    def __init__(self, upstream_port: int, after: int = 4000, marker: bytes = b"MULTI") -> None:
        self.upstream_port = upstream_port
        self.after = after
        self.marker = marker
        self.cut = False
        self.port = 0
        self._server: asyncio.base_events.Server | None = None

    async def __aenter__(self) -> "CuttingProxy":
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _handle(self, client_reader: asyncio.StreamReader,
                      client_writer: asyncio.StreamWriter) -> None:
        if self.cut:
            client_writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                client_writer.write(data)
                await client_writer.drain()

        async def upstream() -> None:
            passed: int | None = None
            while data := await client_reader.read(65536):
                if passed is None and self.marker in data:
                    passed = -data.index(self.marker)
                if passed is not None:
                    room = self.after - passed
                    if room < len(data):
                        up_writer.write(data[:max(room, 0)])
                        await up_writer.drain()
                        self.cut = True
                        return
                    passed += len(data)
                up_writer.write(data)
                await up_writer.drain()

        down = asyncio.create_task(downstream())
        try:
            await upstream()
        finally:
            down.cancel()
            for writer in (up_writer, client_writer):
                writer.close()


def found_in(values: set[str], text: str) -> list[str]:
    """Which of the values occur anywhere in the text (one pass over it, however many values)."""
    if not values:
        return []
    return sorted(set(ahocorasick_rs.AhoCorasick(sorted(values)).find_matches_as_strings(
        text, overlapping=True)))


def personal_values(reports: list[dict[str, Any]]) -> set[str]:
    """Every personal value the reports carry: emails, phones and names of people, account
    names and identifiers, IP addresses. None of them may reach a log line or a span."""
    values: set[str] = set()

    def text(item: Any) -> str:
        return item["value"] if isinstance(item, dict) else item

    def person(p: dict[str, Any] | None) -> None:
        if not p:
            return
        values.update(text(e) for e in p.get("email", []))
        values.update(text(e) for e in p.get("phone", []))
        values.update(p[k] for k in ("firstName", "lastName") if k in p and len(p[k]) > 5)

    for report in reports:
        user = report.get("personOrUserReported", {})
        person(user.get("personOrUserReportedPerson"))
        values.update(user[k] for k in ("screenName", "espIdentifier") if k in user)
        values.update(e["ipAddress"] for e in user.get("ipCaptureEvent", []))
        person(report["reporter"]["reportingPerson"])
        for victim in report.get("victim", []):
            person(victim.get("victimPerson"))
            values.update(victim[k] for k in ("screenName", "espIdentifier") if k in victim)
    return values


def on_one_node_and_a_cluster() -> Any:
    """A module's `redis_url`, parametrised: each of its tests runs on one Redis node and on a
    real 3-master Redis Cluster (conftest's `cluster_url`). `redis_url = on_one_node_and_a_cluster()`
    in the module."""

    @pytest.fixture(params=["one-node", "cluster"])
    def redis_url(request: pytest.FixtureRequest, redis_url: str) -> str:
        return redis_url if request.param == "one-node" else request.getfixturevalue("cluster_url")

    return redis_url
