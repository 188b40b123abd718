"""Moments the HTTP APIs accept: timezone-aware and inside the range every service can compute
with. A moment near year 1 or 9999 overflows when it is turned into UTC or moved by a few days
(a deferral, the reopening window), which used to end in a 500."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _in_range(value: datetime) -> datetime:
    try:
        inside = EARLIEST <= value.astimezone(UTC) < LATEST
    except OverflowError:
        inside = False
    if not inside:
        raise ValueError("the moment must lie between the years 1900 and 9000")
    return value


Moment = Annotated[AwareDatetime, AfterValidator(_in_range)]
"""A timezone-aware moment between `EARLIEST` and `LATEST`."""


Day = Annotated[date, Field(ge=EARLIEST.date(), lt=LATEST.date())]
"""A calendar day between the years 1900 and 9000."""
