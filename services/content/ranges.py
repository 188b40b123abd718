"""HTTP range requests on a file (RFC 9110, section 14): pure parsing, no I/O.

One range of bytes is served as 206 Partial Content; a browser's video element asks for one at
a time as it seeks. Several ranges in one request, another unit or a malformed header are
ignored and the whole file is served (RFC 9110 allows it); a range that starts past the end is
416 Range Not Satisfiable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ONE_RANGE = re.compile(r"^bytes=(?P<start>\d{0,19})-(?P<end>\d{0,19})$")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int
    """The last byte served (inclusive, as in Content-Range)."""

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class RangeNotSatisfiableError(ValueError):
    """The range lies wholly past the end of the file."""


def requested_range(header: str | None, size: int) -> ByteRange | None:
    """The one range to serve of a file of `size` bytes, or None for the whole file."""
    if header is None:
        return None
    match = _ONE_RANGE.match(header.strip().replace(" ", ""))
    if match is None or (not match["start"] and not match["end"]):
        return None
    if not match["start"]:  # a suffix: the last N bytes
        suffix = int(match["end"])
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiableError(header)
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(match["start"])
    end = int(match["end"]) if match["end"] else None
    if end is not None and end < start:
        return None  # malformed: ignored
    if start >= size:
        raise RangeNotSatisfiableError(header)
    return ByteRange(start, size - 1 if end is None else min(end, size - 1))
