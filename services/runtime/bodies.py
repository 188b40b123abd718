"""How large a request body a service takes (README.md, "Configuration": `BODY_MAX_BYTES`,
`IMPORT_BODY_MAX_BYTES`).

Every route takes at most `BODY_MAX_BYTES` (1 MiB); an import route says so in its
`openapi_extra` (`IMPORT_BODY`) and takes `IMPORT_BODY_MAX_BYTES` (25 MiB); a route that streams
its body and enforces limits of its own (the content service's file uploads) says
`STREAMED_BODY`. A larger body is refused with 413 and a clear `detail` before the route sees
it: at once when `Content-Length` says so, otherwise as soon as the bytes received pass the
limit, so nothing is held beyond it and nothing is changed. The declaration sits on the route
and shows in the OpenAPI document (`x-body-limit`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from fastapi import HTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BODY_LIMIT_KEY: Final = "x-body-limit"
IMPORT_BODY: Final[dict[str, Any]] = {BODY_LIMIT_KEY: "import"}
"""`openapi_extra` of a route that imports a file: `IMPORT_BODY_MAX_BYTES` instead of
`BODY_MAX_BYTES`."""
STREAMED_BODY: Final[dict[str, Any]] = {BODY_LIMIT_KEY: "streamed"}
"""`openapi_extra` of a route that streams its body and enforces its own limits."""
KINDS: Final = ("import", "streamed")


@dataclass(frozen=True)
class BodyLimits:
    default_bytes: int
    import_bytes: int

    def of(self, route: object) -> int | None:
        """The limit of a route in bytes; None when the route enforces its own."""
        kind = (getattr(route, "openapi_extra", None) or {}).get(BODY_LIMIT_KEY)
        if kind == "streamed":
            return None
        return self.import_bytes if kind == "import" else self.default_bytes

    @staticmethod
    def check(routes: Iterable[BaseRoute]) -> None:
        """Refuse to start with a route that declares a kind of body limit there is not."""
        for route in routes:
            kind = (getattr(route, "openapi_extra", None) or {}).get(BODY_LIMIT_KEY)
            if kind is not None and kind not in KINDS:
                path = getattr(route, "path", route)
                raise ValueError(f"{path}: {BODY_LIMIT_KEY} {kind!r} is not one of {KINDS}")


class BodyLimitMiddleware:
    """413 for a body larger than its route takes. The route is known once routing has run,
    that is by the first time the body is read; the check sits in `receive`."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        received = 0

        async def limited() -> Message:
            nonlocal received
            limit = self.limits.of(scope.get("route"))
            if limit is None:
                return await receive()
            if declared is not None and declared > limit:
                raise _too_large(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _too_large(limit: int) -> HTTPException:
    # Raised from `receive`, it reaches FastAPI's handler like a route's own HTTPException.
    return HTTPException(
        413,
        f"The request body is larger than {limit:,} bytes, the most this endpoint takes; "
        "nothing was changed.",
    )
