"""The gateway's own answers (errors, refusals): the services' shape, `{"detail": "..."}`, with
the correlation id in both headers."""

from __future__ import annotations

import uuid

from starlette.responses import JSONResponse
from starlette.types import Message, Scope, Send


def correlation_id_of(scope: Scope) -> str:
    """The caller's `X-Correlation-ID` or `X-Request-ID`, or a new one."""
    headers = dict(scope["headers"])
    raw = headers.get(b"x-correlation-id") or headers.get(b"x-request-id") or b""
    return raw.decode("latin-1")[:200].strip() or str(uuid.uuid4())


async def send_json(
    send: Send,
    status: int,
    body: dict[str, str],
    correlation_id: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    response = JSONResponse(body, status_code=status)
    message: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            *response.raw_headers,
            (b"x-correlation-id", correlation_id.encode("latin-1")),
            (b"x-request-id", correlation_id.encode("latin-1")),
            *(extra or []),
        ],
    }
    await send(message)
    await send({"type": "http.response.body", "body": response.body})
