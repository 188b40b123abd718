"""The one source of business time (docs/time.md).

Every service reads "now" from one `Clock`, handed to its handlers, its domain and its periodic
workers; nothing else in the code may call `datetime.now()` (a ruff rule, `banned-api`, fails the
build). Production always runs on `SystemClock`. The test and dev stacks run the services on a
`ControlledClock`: real time shifted by an offset kept in a small JSON file that every process of
the stack reads, so a test can say "it is Tuesday 10:00 in Ljubljana" or move time forward by
fifteen days, and every service agrees at once, without sleeping.

Time keeps flowing on a controlled clock (a set moment plus the real time elapsed since), so
timeouts, orderings and expiries behave as they would in production.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    """Tells the current time."""

    def now(self) -> datetime:
        """The current moment, timezone-aware, in UTC."""


class SystemClock:
    """The machine's clock (production)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class _Reading:
    stamp: tuple[int, int, int]
    offset: timedelta


class ControlledClock:
    """Real time plus an offset stored in `path` (JSON `{"offset_s": <float>}`).

    Each `now()` checks the file's identity (inode, size, modification time) and re-reads it only
    when it changed; a missing file means no offset. Writers replace the file atomically, so a
    reader never sees half a file. Only the test and dev stacks use this (see `ServiceSettings`).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._reading = _Reading((0, 0, 0), timedelta(0))

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset()

    def offset(self) -> timedelta:
        """How far this clock is ahead of (or behind) the real one."""
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return timedelta(0)
        stamp = (status.st_ino, status.st_size, status.st_mtime_ns)
        if stamp != self._reading.stamp:
            try:
                document = json.loads(self.path.read_text())
                offset = timedelta(seconds=float(document["offset_s"]))
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise ClockFileError(f"{self.path}: {error!r}") from error
            self._reading = _Reading(stamp, offset)
        return self._reading.offset

    def set(self, moment: datetime) -> datetime:
        """Make it `moment` now (timezone-aware) for every process reading the file."""
        if moment.tzinfo is None:
            raise ValueError("the moment must carry its time zone")
        self._write(moment - datetime.now(UTC))
        return moment

    def advance(self, delta: timedelta) -> datetime:
        """Move time forward by `delta` (backward when negative); return the new now."""
        self._write(self.offset() + delta)
        return self.now()

    def reset(self) -> None:
        """Back to real time."""
        self._write(timedelta(0))

    def _write(self, offset: timedelta) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".clock-")
        with os.fdopen(handle, "w") as out:
            json.dump({"offset_s": offset.total_seconds()}, out)
        os.replace(temporary, self.path)


class ClockFileError(RuntimeError):
    """The controlled clock's file exists but cannot be read as an offset."""


def clock_for(clock_file: Path | None) -> Clock:
    """The clock a service runs on: controlled by `clock_file` if given, else the system's."""
    return ControlledClock(clock_file) if clock_file is not None else SystemClock()
