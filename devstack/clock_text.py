"""Moments and durations as a person types them (the `ticketing clock` command and the tests)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from services.runtime.local_time import LOCAL_ZONE

_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)")
_UNIT = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_moment(text: str) -> datetime:
    """ISO 8601; without an offset it is Ljubljana's wall-clock time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time such as 2026-12-25T10:00") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=LOCAL_ZONE)


def parse_duration(text: str) -> timedelta:
    """'90m', '3h', '15d', '1d2h30m', '-1h'."""
    body = text.strip()
    sign = -1 if body.startswith("-") else 1
    body = body.lstrip("+-").replace(" ", "")
    parts = _PART.findall(body)
    if not parts or "".join(n + u for n, u in parts) != body:
        raise ValueError(f"{text!r} is not a duration such as 90m, 3h, 15d or 1d2h")
    total = sum((timedelta(**{_UNIT[u]: float(n)}) for n, u in parts), timedelta())
    return sign * total
