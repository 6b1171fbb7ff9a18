"""The frame every service runs in: Redis, the FastStream broker, the consume loop, health routes."""

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

import uvicorn
from fastapi import FastAPI, Response
from faststream.redis import RedisBroker
from pydantic import TypeAdapter
from redis.asyncio import Redis

from shared import topology
from shared.consumer import (
    ConsumeLoop,
    Handler,
    Lane,
    LaneReader,
    Prepare,
    Subscription,
    ensure_groups,
    missing_groups,
    subscribe,
    subscribe_reclaim,
)
from shared.directory import load_directory
from shared.logging import configure_logging, get_logger
from shared.retention import Janitor
from shared.settings import TiplineSettings

log = get_logger(__name__)


class Background(Protocol):
    """A long-running worker of a service: runs until asked to stop, finishing what it has."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


def all_groups(settings: TiplineSettings) -> dict[str, list[str]]:
    """Every group of the topology, agency inboxes included."""
    directory = load_directory(settings.directory_file)
    groups = {group: list(streams) for group, streams in topology.ALL_CONSUMED.items()}
    groups[topology.AGENCIES] = [topology.agency_inbox(a.id) for a in directory.agencies]
    return groups


class StreamService:
    """One service: its settings, its Redis client, its broker and what it consumes."""

    def __init__(self, name: str, settings: TiplineSettings) -> None:
        self.name = name
        self.settings = settings
        self.redis = Redis.from_url(settings.redis_url)
        framework_log = logging.getLogger(f"tipline.faststream.{name}")
        self.broker = RedisBroker(
            settings.redis_url,
            graceful_timeout=10.0,
            logger=framework_log,
            log_level=logging.DEBUG,  # its per-message lines; our own lines say what matters
        )
        # FastStream gives the logger a coloured handler of its own; route it through structlog.
        framework_log.handlers.clear()
        framework_log.propagate = True
        framework_log.setLevel(logging.WARNING)  # task start/stop chatter at INFO
        self.loop = ConsumeLoop(self.redis, group=name, max_deliveries=settings.max_deliveries)
        self.consumed: list[str] = []
        self.background: list[Background] = []

    def consume(self, stream: str, event_type: Any, handler: Handler, description: str = "",
                prepare: Prepare | None = None) -> None:
        """Handle every entry of one stream (order among streams does not matter)."""
        s = self.settings
        sub = Subscription(TypeAdapter(event_type), handler, prepare)
        subscribe(self.broker, self.loop, stream=stream, sub=sub, consumer=s.consumer_name,
                  batch_size=s.batch_size, poll_ms=s.poll_ms, description=description)
        self._reclaim(stream, sub)

    def consume_lanes(self, streams_by_urgency: Sequence[str], event_type: Any, handler: Handler,
                      strict: bool = True, prepare: Prepare | None = None) -> None:
        """Handle several lanes of one kind of event, always draining the more urgent lane first
        (strict=False: many streams of equal standing, read together in one call)."""
        s = self.settings
        sub = Subscription(TypeAdapter(event_type), handler, prepare)
        lanes = [Lane(stream, sub) for stream in streams_by_urgency]
        self.run_in_background(LaneReader(self.loop, lanes, s.consumer_name, s.batch_size, s.poll_ms,
                                          strict=strict, preempt_every=s.preempt_every))
        for stream in streams_by_urgency:
            self._reclaim(stream, sub)

    def _reclaim(self, stream: str, sub: Subscription) -> None:
        s = self.settings
        subscribe_reclaim(self.broker, self.loop, stream=stream, sub=sub, consumer=s.consumer_name,
                          batch_size=s.batch_size, reclaim_idle_ms=s.reclaim_idle_ms)
        self.consumed.append(stream)

    def run_in_background(self, worker: Background) -> None:
        self.background.append(worker)

    async def readiness(self) -> list[str]:
        """What keeps the service from being ready; empty when it is."""
        try:
            await self.redis.ping()
        except Exception as exc:
            return [f"redis unreachable: {type(exc).__name__}"]
        return [f"missing group: {m}" for m in await missing_groups(
            self.redis, {self.name: self.consumed}
        )]

    @asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        await ensure_groups(self.redis, all_groups(self.settings))
        workers = list(self.background)
        trimmed = [s for s in self.consumed if s != topology.DEAD_LETTERS]
        if trimmed:
            workers.append(Janitor(self.redis, trimmed, self.settings.stream_retention_s,
                                   self.settings.trim_interval_s))
        await self.broker.start()
        tasks = [asyncio.create_task(w.run(), name=f"{self.name}-{type(w).__name__}")
                 for w in workers]
        log.info("service started", consumes=len(self.consumed))
        try:
            yield
        finally:
            # Drain: let every worker finish the batch in hand, then stop the subscribers.
            for worker in workers:
                worker.stop()
            _, late = await asyncio.wait(tasks, timeout=10) if tasks else (set(), set())
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.broker.stop()  # waits for in-flight batches (graceful_timeout)
            await self.redis.aclose()
            log.info("service stopped")

    def app(self, routers: Sequence[Any] = (), **fastapi_args: Any) -> FastAPI:
        app = FastAPI(title=f"tipline {self.name}", lifespan=self.lifespan, **fastapi_args)

        @app.get("/healthz", tags=["health"], summary="The process is alive.")
        async def healthz() -> dict[str, str]:
            return {"status": "ok", "service": self.name}

        @app.get("/readyz", tags=["health"], summary="Redis answers and every group exists.")
        async def readyz(response: Response) -> dict[str, Any]:
            problems = await self.readiness()
            if problems:
                response.status_code = 503
            return {"ready": not problems, "service": self.name, "problems": problems}

        for router in routers:
            app.include_router(router)
        app.state.service = self
        return app


def serve(app_factory: Callable[[], FastAPI], settings: TiplineSettings, name: str, port: int) -> None:
    """Run one service in the foreground; SIGTERM and Ctrl-C drain and stop it."""
    configure_logging(name, settings.log_format, settings.log_level)
    if settings.nice:
        os.nice(settings.nice)
    app = app_factory()
    # Everything built at start-up lives as long as the process: keep it out of the collector's
    # way, and collect the young generation less often (fewer pauses on a busy stream).
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    config = uvicorn.Config(
        app, host=settings.host, port=port, log_config=None, access_log=False,
        timeout_graceful_shutdown=15,
    )
    uvicorn.Server(config).run()
