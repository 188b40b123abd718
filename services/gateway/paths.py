"""Which service a request path goes to, and the path it goes on with; paths that could leave
`/api/<service>` are refused (services/gateway/README.md, "Paths").

Pure: raw bytes in, a decision out. The path goes on as the client encoded it (`%2F` inside a
segment, `%01` and the like are the service's to judge), except that plain `.` and `..` segments
are resolved here (RFC 3986, 5.2.4), as a browser would have done. Anything that a service, a
framework or a proxy behind us could read as a step up or sideways is refused instead of being
passed on: an encoded dot segment (`%2e%2e`), an encoded slash or a backslash that makes one
(`..%2F`, `..\\`), the same encoded twice (`%252e%252e`), any backslash, and plain dot segments
that climb out of the service's prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

PREFIX = "/api/"


class BadPathError(ValueError):
    """The path could address something outside `/api/<service>`; it is refused, not sent on."""


@dataclass(frozen=True)
class Target:
    service: str
    path: str
    """The path to send on: as the client encoded it, plain dot segments resolved."""


def target_of(raw_path: bytes) -> Target:
    """The service and the path for a raw request path (no query). Raises `BadPathError` for
    a path that could leave `/api/<service>`; a path outside `/api/`, or with an empty service
    segment, has no service ("")."""
    path = raw_path.split(b"?", 1)[0].decode("latin-1")
    if not path.startswith(PREFIX):
        return Target("", path)
    if "\\" in path or "%5c" in path.lower():
        raise BadPathError("a backslash in the path")
    segments = path.split("/")  # ["", "api", service, ...]
    for segment in segments:
        if "%" in segment and _steps(segment):
            raise BadPathError("an encoded dot segment or a path separator that forms one")
    service = segments[2]
    if service in (".", ".."):
        raise BadPathError("dot segments that lead outside the service's path")
    resolved = _remove_dot_segments(segments)
    if resolved[:3] != ["", "api", service]:
        raise BadPathError("dot segments that lead outside the service's path")
    return Target(service, "/".join(resolved))


def _steps(segment: str) -> bool:
    """Whether the segment, decoded once or twice, holds a `.` or `..` between separators."""
    once = unquote(segment, encoding="latin-1")
    twice = unquote(once, encoding="latin-1")
    return any(
        part in (".", "..") for text in (once, twice) for part in text.replace("\\", "/").split("/")
    )


def _remove_dot_segments(segments: list[str]) -> list[str]:
    """RFC 3986 5.2.4 over the segments of an absolute path (the first one is empty)."""
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                out.append("")
        elif segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(segment)
    return out
