"""Prometheus metrics of a service: the consume loop, consumer-group lag, HTTP, and its own figures.

One registry per service object (a test may run several services in one process). Group lag and
pending counts are read from Redis when /metrics is scraped, so they are exact at that moment
and cost nothing between scrapes.
"""

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

ScrapeHook = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class StreamMetrics:
    """The loop's metrics of one stream and group, resolved once."""

    handled: Counter
    failed: Counter
    dead_lettered: Counter
    duplicates: Counter
    reclaimed: Counter
    handler_seconds: Histogram
    batch_seconds: Histogram


class Metrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        r = self.registry
        by = ["stream", "group"]
        self.handled = Counter("tipline_entries_handled", "Entries handled and committed (their "
                               "writes applied).", by, registry=r)
        self.failed = Counter("tipline_entries_failed", "Deliveries whose handler or prepare step "
                              "raised; the entry stays pending for redelivery.", by, registry=r)
        self.dead_lettered = Counter("tipline_entries_dead_lettered", "Entries moved to the "
                                     "dead-letter stream (invalid, or failed on their last "
                                     "delivery).", by, registry=r)
        self.duplicates = Counter("tipline_entries_duplicate", "Deliveries whose effects had "
                                  "already been committed (redelivered or doubly claimed): "
                                  "nothing written.", by, registry=r)
        self.reclaimed = Counter("tipline_entries_reclaimed", "Entries taken over after being idle "
                                 "longer than the reclaim time.", by, registry=r)
        self.handler_seconds = Histogram("tipline_handler_seconds", "Time to handle one entry.", by,
                                         buckets=LATENCY_BUCKETS, registry=r)
        self.batch_seconds = Histogram("tipline_batch_seconds", "Time to handle and commit one "
                                       "batch.", by, buckets=LATENCY_BUCKETS, registry=r)
        self.lag = Gauge("tipline_group_lag", "Entries of the stream not yet read by the group.",
                         by, registry=r)
        self.pending = Gauge("tipline_group_pending", "Entries read by the group and not yet "
                             "acknowledged.", by, registry=r)
        self.http_requests = Counter("tipline_http_requests", "HTTP requests answered.",
                                     ["method", "route", "status"], registry=r)
        self.http_seconds = Histogram("tipline_http_request_seconds", "Time to answer an HTTP "
                                      "request.", ["method", "route"], buckets=LATENCY_BUCKETS,
                                      registry=r)
        self.faults = Gauge("tipline_faults_in_force", "The workshop's faults this service sees "
                            "in force, by kind and target (the value is the fault's).",
                            ["kind", "target"], registry=r)
        self._streams: dict[tuple[str, str], StreamMetrics] = {}
        self._hooks: list[ScrapeHook] = []

    def stream(self, stream: str, group: str) -> StreamMetrics:
        key = (stream, group)
        found = self._streams.get(key)
        if found is None:
            found = self._streams[key] = StreamMetrics(
                self.handled.labels(stream, group), self.failed.labels(stream, group),
                self.dead_lettered.labels(stream, group), self.duplicates.labels(stream, group),
                self.reclaimed.labels(stream, group), self.handler_seconds.labels(stream, group),
                self.batch_seconds.labels(stream, group))
        return found

    def show_faults(self, faults: Iterable[tuple[str, str, float]]) -> None:
        """The faults in force now, as (kind, target, value): the gauge holds these and no other."""
        self.faults.clear()
        for kind, target, value in faults:
            self.faults.labels(kind, target).set(value)

    def on_scrape(self, hook: ScrapeHook) -> None:
        """Run `hook` before each exposition (to read figures from Redis)."""
        self._hooks.append(hook)

    async def exposition(self) -> bytes:
        for hook in self._hooks:
            await hook()
        return generate_latest(self.registry)
