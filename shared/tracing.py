"""OpenTelemetry traces: one span per handled entry and per batch commit (HTTP server spans are
FastAPI's own), linked across services by the W3C trace context each stream entry carries
(shared.wire.TRACE_FIELD).

The exporter is a setting (TIPLINE_TRACE_EXPORTER: none, console or otlp). With none, no SDK is
installed: spans cost next to nothing, and a trace context that arrives is still passed on.
Span attributes name streams, groups, entry, event and report ids only: never a report's content.
"""

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
_configured: list[str] = []


def configure_tracing(service: str, exporter: str, endpoint: str | None = None) -> None:
    """Install the SDK with the chosen exporter, once per process."""
    if exporter == "none" or _configured:
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": f"tipline-{service}"}))
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    _configured.append(exporter)


def tracer() -> trace.Tracer:
    return trace.get_tracer("tipline")


def parent_context(traceparent: str | None) -> Context:
    """The context a trace header names; an empty one (a new trace) when there is none."""
    if not traceparent:
        return Context()
    return _PROPAGATOR.extract({"traceparent": traceparent}, context=Context())


def current_traceparent() -> str | None:
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def sdk_installed() -> bool:
    """Whether spans are recorded anywhere (an SDK provider, ours or a test's, is installed)."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


@contextmanager
def consumer_span(stream: str, group: str, entry_id: bytes, event: Any,
                  traceparent: str | None, sdk: bool | None = None) -> Iterator[Span]:
    """The span of handling one entry; `sdk` is sdk_installed() when the caller asked already
    (once for a batch)."""
    if not traceparent and not (sdk_installed() if sdk is None else sdk):
        yield trace.INVALID_SPAN  # nothing to record and no context to pass on: no span at all
        return
    with tracer().start_as_current_span(f"{group} handle {stream}", context=parent_context(
            traceparent), kind=SpanKind.CONSUMER) as span:
        if span.is_recording():
            span.set_attributes({
                "tipline.service": group,
                "messaging.system": "redis",
                "messaging.operation.type": "process",
                "messaging.destination.name": stream,
                "messaging.consumer.group.name": group,
                "messaging.message.id": entry_id.decode(),
                "tipline.event_id": str(getattr(event, "event_id", "")),
                "tipline.event_type": type(event).__name__,
                "tipline.report_id": int(getattr(event, "report_id", 0) or 0),
            })
        yield span


def link_to(spans: Sequence[Span]) -> list[Link]:
    return [Link(s.get_span_context()) for s in spans if s.get_span_context().is_valid]
