"""Helpers the tests share: run an app in-process, wait for a condition, read a stream."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from redis.asyncio import Redis

T = TypeVar("T")


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan (broker, subscribers, background tasks) and an HTTP client on it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
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


async def has_entries(redis: Redis, stream: str, n: int) -> bool:
    """At least n entries in the stream (for `eventually`)."""
    return await redis.xlen(stream) >= n
