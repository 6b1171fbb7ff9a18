"""The frame every service runs in: Redis, its contract, the consume loop, health, metrics, docs."""

import gc
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import uvicorn
import yaml
from fastapi import FastAPI, Request, Response
from pydantic import TypeAdapter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.clock import SYSTEM, Clock
from shared.contracts import Channel, Contract, check_handler
from shared.directory import load_directory
from shared.door import ConcurrencyLimit, guarded_protocol
from shared.effects import Collector
from shared.faults import FaultStore, FaultWatcher
from shared.groups import ensure_groups, group_state, missing_groups
from shared.http import install_error_handlers
from shared.logging import configure_logging, get_logger
from shared.loop import ConsumeLoop, Handler, Prepare, Subscription
from shared.metrics import Metrics
from shared.publishing import Publisher
from shared.reading import Lane, LaneReader, Reclaimer
from shared.retention import Janitor
from shared.settings import TiplineSettings
from shared.tracing import configure_tracing

log = get_logger(__name__)

T = TypeVar("T")


def dependency(kind: type[T]) -> Callable[[Request], T]:
    """A FastAPI dependency answering the service's collaborators (a `kind`), which its bootstrap
    built once and gave to `StreamService.app`."""

    def provide(request: Request) -> T:
        deps = request.app.state.deps
        if not isinstance(deps, kind):
            raise TypeError(f"this app was built with {type(deps).__name__}, not {kind.__name__}")
        return deps

    provide.__name__ = f"provide_{kind.__name__.lower()}"
    return provide


class Background(Protocol):
    """A long-running worker of a service: runs until asked to stop, finishing what it has."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


class StreamService:
    """One service: its contract, settings, Redis client, consume loop and background workers.

    `strict`: the order in which channels are consumed is their urgency (a more urgent lane is
    always drained first); otherwise they have equal standing."""

    def __init__(self, contract: Contract, settings: TiplineSettings, strict: bool = True,
                 asyncapi: Path | None = None, clock: Clock = SYSTEM) -> None:
        self.name = contract.service
        self.contract = contract
        self.asyncapi = asyncapi
        self.clock = clock
        self.settings = settings
        self.topology = settings.topology()
        self.redis = settings.redis()
        self.metrics = Metrics(self.name)
        self.strict = strict
        self.publisher = Publisher(contract)
        self.fault_watch = FaultWatcher(
            FaultStore(self.redis, self.topology), clock,
            on_change=lambda found: self.metrics.show_faults(
                (f.kind, f.target, f.value) for f in found.active))
        self.loop = ConsumeLoop(
            self.redis, self.name, consumer=settings.consumer_name, publisher=self.publisher,
            dead_letters=self.topology.dead_letters,
            seen_prefix=self.topology.seen_prefix(self.name),
            max_deliveries=settings.max_deliveries, dedupe_ttl_s=settings.dedupe_ttl_s,
            metrics=self.metrics, faults=self.fault_watch,
        )
        self.lanes: list[Lane] = []
        self.background: list[Background] = []
        self._adapters: dict[int, TypeAdapter[Any]] = {}
        self.metrics.on_scrape(self._read_group_state)

    def consume(self, channel: Channel, handler: Handler, *, streams: Sequence[str] = (),
                prepare: Prepare | None = None, collector: Collector | None = None,
                dedupe: bool = True) -> None:
        """Handle every entry of a declared channel (of `streams`, for a channel named by a
        pattern such as an agency inbox). Channels are read in the order they are consumed."""
        if channel not in self.contract.consumes:
            raise ValueError(f"{self.name} does not declare that it consumes {channel.stream}")
        check_handler(channel, handler)
        adapter = self._adapters.setdefault(id(channel.event), TypeAdapter(channel.event))
        sub = Subscription(adapter, handler, prepare, collector, dedupe)
        for stream in streams or [channel.stream]:
            self.lanes.append(Lane(stream, sub))

    def run_in_background(self, worker: Background) -> None:
        self.background.append(worker)

    @property
    def consumed(self) -> list[str]:
        return [lane.stream for lane in self.lanes]

    async def readiness(self) -> list[str]:
        """What keeps the service from being ready; empty when it is."""
        try:
            await self.redis.ping()
        except Exception as exc:
            return [f"redis unreachable: {type(exc).__name__}"]
        return [f"missing group: {m}" for m in await missing_groups(
            self.redis, {self.name: self.consumed})]

    async def _read_group_state(self) -> None:
        for stream, group, lag, pending in await group_state(self.redis, {self.name: self.consumed}):
            self.metrics.lag.labels(stream, group).set(lag)
            self.metrics.pending.labels(stream, group).set(pending)

    def reader(self) -> LaneReader:
        """The reader of every lane; while it lingers it reads the urgent ones."""
        s = self.settings
        return LaneReader(self.loop, self.lanes, s.consumer_name, s.batch_size, s.poll_ms,
                          strict=self.strict, preempt_every=s.preempt_every,
                          linger_ms=s.linger_ms,
                          urgent=[lane for lane in self.lanes if lane.stream in self.topology.urgent])

    def _workers(self) -> list[Background]:
        s = self.settings
        workers: list[Background] = []
        if self.lanes:
            workers.append(self.reader().worker())
            workers.append(Reclaimer(self.loop, self.lanes, s.consumer_name, s.batch_size,
                                     s.reclaim_idle_ms).worker())
            trimmed = [st for st in self.consumed if st != self.topology.dead_letters]
            if trimmed:
                workers.append(Janitor(self.redis, trimmed, s.stream_retention_s,
                                       s.trim_interval_s, self.clock).worker())
        return workers + [self.fault_watch.worker()] + self.background

    def _asyncapi_document(self) -> dict[str, Any]:
        """The committed AsyncAPI document written from the contract (tipline.docgen); a service
        without one (a test's) serves its title alone."""
        if self.asyncapi is None:
            return {"asyncapi": "3.0.0", "info": {"title": f"tipline {self.name}", "version": "1",
                                                  "description": self.contract.summary}}
        return yaml.safe_load(self.asyncapi.read_text())

    @asynccontextmanager
    async def lifespan(self, _app: FastAPI) -> AsyncIterator[None]:
        import asyncio

        directory = load_directory(self.settings.directory_file)
        groups = self.topology.consumed([a.id for a in directory.agencies])
        groups[self.name] = sorted({*groups.get(self.name, []), *self.consumed})
        await ensure_groups(self.redis, groups)
        workers = self._workers()
        tasks = [asyncio.create_task(w.run(), name=f"{self.name}-{i}") for i, w in enumerate(workers)]
        log.info("service started", consumes=len(self.lanes))
        try:
            yield
        finally:
            # Drain: every worker finishes what it has in hand, then stops.
            for worker in workers:
                worker.stop()
            _, late = await asyncio.wait(tasks, timeout=10) if tasks else (set(), set())
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.redis.aclose()
            log.info("service stopped")

    def app(self, routers: Sequence[Any] = (), deps: object = None,
            **fastapi_args: Any) -> FastAPI:
        """The service's HTTP app: health, metrics, docs and `routers`, whose routes reach `deps`
        (the service's collaborators) through `dependency`."""
        # FastAPI's own telemetry makes the HTTP server spans (with the W3C context a client
        # sends). Its log records stay off: they would carry exception messages and refused
        # input values, which may be personal data.
        app = FastAPI(title=f"tipline {self.name}", lifespan=self.lifespan,
                      telemetry={"tracing": True, "metrics": False, "logs": False,
                                 "operation_spans": False}, **fastapi_args)
        document = self._asyncapi_document()

        @app.get("/healthz", tags=["health"], summary="The process is alive.")
        async def healthz() -> dict[str, str]:
            return {"status": "ok", "service": self.name}

        @app.get("/readyz", tags=["health"], summary="Redis answers and every group exists.",
                 responses={503: {"description": "Not ready: Redis or a consumer group is missing."}})
        async def readyz(response: Response) -> dict[str, Any]:
            problems = await self.readiness()
            if problems:
                response.status_code = 503
            return {"ready": not problems, "service": self.name, "problems": problems}

        @app.get("/metrics", tags=["health"], summary="Prometheus metrics.",
                 response_class=Response, responses={200: {"content": {"text/plain": {}}}})
        async def metrics() -> Response:
            return Response(await self.metrics.exposition(),
                            media_type="text/plain; version=0.0.4; charset=utf-8")

        @app.get("/asyncapi", tags=["docs"], summary="The service's AsyncAPI document (JSON).")
        async def asyncapi() -> dict[str, Any]:
            return document

        @app.get("/asyncapi.yaml", tags=["docs"], summary="The service's AsyncAPI document (YAML).",
                 response_class=Response, responses={200: {"content": {"application/yaml": {}}}})
        async def asyncapi_yaml() -> Response:
            return Response(yaml.safe_dump(document, sort_keys=False), media_type="application/yaml")

        for router in routers:
            app.include_router(router)
        install_error_handlers(app)
        app.add_middleware(ConcurrencyLimit, limit=self.settings.http_max_concurrency)
        app.add_middleware(HttpMetrics, metrics=self.metrics)  # outermost: counts the 503s too
        app.state.deps = deps
        return app


class HttpMetrics:
    """Request counts and latency for every HTTP request, by route template (never by the raw path,
    which would name report ids)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = [500]
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.http_requests.labels(scope["method"], route, str(status[0])).inc()
            self.metrics.http_seconds.labels(scope["method"], route).observe(
                time.perf_counter() - started)


def serve(app_factory: Callable[[], FastAPI], settings: TiplineSettings, name: str, port: int) -> None:
    """Run one service in the foreground; SIGTERM and Ctrl-C drain and stop it."""
    configure_logging(name, settings.log_format, settings.log_level)
    configure_tracing(name, settings.trace_exporter, settings.otlp_endpoint)
    if settings.nice:
        os.nice(settings.nice)
    app = app_factory()
    # Everything built at start-up lives as long as the process: keep it out of the collector's
    # way, and collect the young generation less often (fewer pauses on a busy stream).
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
    config = uvicorn.Config(
        app, host=settings.host, port=port, log_config=None, access_log=False,
        timeout_graceful_shutdown=15, timeout_keep_alive=int(settings.http_keepalive_s),
        http=guarded_protocol(settings.http_max_connections_per_client,
                              settings.http_header_timeout_s),
    )
    # A listening socket handed over by whoever started the process (tipline up, the tests): the
    # port was bound before the process started, so nothing can take it in between.
    sockets = [socket.socket(fileno=settings.http_fd)] if settings.http_fd is not None else None
    uvicorn.Server(config).run(sockets=sockets)
