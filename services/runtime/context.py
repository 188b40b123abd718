"""The correlation id of the work in progress, kept in structlog's context variables."""

from __future__ import annotations

import uuid

import structlog


def current_correlation_id() -> str:
    """Return the correlation id bound for this request or message, or a new one."""
    bound = structlog.contextvars.get_contextvars().get("correlation_id")
    return str(bound) if bound else str(uuid.uuid4())
