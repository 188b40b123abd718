"""structlog set-up: JSON lines when not on a terminal, readable colours on one.

Every line carries the service; while a message or request is handled, the context variables
bound by the consumer and the HTTP middleware add correlation id, event id and ticket id, and
with tracing on (services/runtime/tracing.py) the trace and span ids.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal, cast

import structlog

from services.runtime.tracing import add_trace_ids


def configure_logging(
    service: str, *, fmt: Literal["auto", "json", "console"] = "auto", level: str = "INFO"
) -> None:
    """Route structlog and stdlib logging (uvicorn, faststream, aiokafka) through one renderer."""
    as_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())

    def add_service(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        add_service,
        add_trace_ids,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # a debug line costs nothing at INFO
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            cast(Any, structlog.processors.format_exc_info if as_json else _identity),
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", "aiokafka"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _identity(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return event_dict
