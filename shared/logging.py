"""structlog setup: console on a terminal, JSON otherwise; personal fields never reach a log line."""

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import structlog

# Keys that would carry personal data of a report. Log calls should never pass them; this is the
# net under that rule, not the rule itself.
PERSONAL_KEYS = frozenset({
    "email", "phone", "ip", "ip_address", "ipAddress", "screen_name", "screenName", "first_name",
    "firstName", "last_name", "lastName", "address", "report", "payload", "body",
})


_MESSAGE: ContextVar[tuple[Any, Any] | None] = ContextVar("tipline_message", default=None)


def _add_message(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    current = _MESSAGE.get()
    if current is not None:
        event_dict.setdefault("report_id", current[0])
        event_dict.setdefault("event_id", current[1])
    return event_dict


@contextmanager
def message_context(report_id: Any, event_id: Any) -> Iterator[None]:
    """Bind a message's report id and event id to every line logged while it is handled
    (one context variable: cheap enough for every message of a busy stream)."""
    token = _MESSAGE.set((report_id, event_id))
    try:
        yield
    finally:
        _MESSAGE.reset(token)


def _redact(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    for key in PERSONAL_KEYS.intersection(event_dict):
        event_dict[key] = "[redacted]"
    return event_dict


# Tracebacks as structured data in JSON lines, without the frames' local variables (a handler's
# frame holds the report it was handling).
_tracebacks = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(show_locals=False))


def _safe_exception_text(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """A validation error's text quotes the values it refused: keep only where and why."""
    for exc in event_dict.get("exception") or []:
        if isinstance(exc, dict) and exc.get("exc_type") == "ValidationError":
            exc["exc_value"] = _validation_summary(exc.get("exc_value", ""))
    return event_dict


def _validation_summary(text: str) -> str:
    kept = [line for line in str(text).splitlines()
            if line and not line.startswith(" ") and "input_value=" not in line]
    return "\n".join(kept)


def configure_logging(service: str, fmt: str = "auto", level: str = "INFO") -> None:
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    final = [_tracebacks, _safe_exception_text, renderer] if use_json else [renderer]
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _add_message,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        # Below the level, a line is dropped before any other work is done.
        processors=[structlog.stdlib.filter_by_level, *shared_processors,
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared_processors, structlog.stdlib.ExtraAdder()],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Per-request and per-message chatter from the frameworks: our own lines say what matters.
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """Bind report_id, event_id and the like to every line logged inside the block."""
    with structlog.contextvars.bound_contextvars(**values):
        yield
