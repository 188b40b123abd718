"""The gateway's own answers (errors, refusals): problem details as the services give them
(services/runtime/problems.py), with the correlation id in both headers."""

from __future__ import annotations

import uuid

from starlette.types import Message, Scope, Send

from services.runtime.problems import problem_response


def correlation_id_of(scope: Scope) -> str:
    """The caller's `X-Correlation-ID` or `X-Request-ID`, or a new one."""
    headers = dict(scope["headers"])
    raw = headers.get(b"x-correlation-id") or headers.get(b"x-request-id") or b""
    return raw.decode("latin-1")[:200].strip() or str(uuid.uuid4())


async def send_problem(
    send: Send,
    status: int,
    detail: str,
    correlation_id: str,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer with an `application/problem+json` of the status's kind."""
    response = problem_response(status, detail)
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
