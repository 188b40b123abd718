"""The proxy under `/api`: `/api/<service>/<rest>` to the service, streamed both ways."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import structlog
from starlette.types import Message, Receive, Scope, Send
from yarl import URL

from services.gateway.answers import correlation_id_of, send_problem
from services.gateway.forwarding import (
    FORWARDING_HEADERS,
    ClientView,
    InternalOrigins,
    TrustedProxies,
    forwarding_headers,
)
from services.gateway.paths import BadPathError, target_of
from services.runtime.tracing import TRACEPARENT, forwarded_traceparent

log = structlog.get_logger(__name__)

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
RESPONSE_SKIPPED = HOP_BY_HOP | {"date", "server"}  # the gateway's own server sets them
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""Methods whose repetition has the effect of one request (RFC 9110, 9.2.2): sent once more when
the connection dropped before any answer (RFC 9112, 9.3.1)."""
CHUNK = 64 * 1024


class Proxy:
    """The ASGI app under `/api`: `/api/<service>/<rest>` to the service's base URL with the
    same path and query (as the client encoded them, plain dot segments resolved), headers and
    body. A path that could leave `/api/<service>` is refused with 400 (`paths.py`)."""

    def __init__(self, upstreams: dict[str, str], trusted: TrustedProxies) -> None:
        self.upstreams = {name: base.rstrip("/") for name, base in upstreams.items()}
        self.trusted = trusted
        self.internal = InternalOrigins(list(self.upstreams.values()))
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        correlation_id = correlation_id_of(scope)
        try:
            path_target = target_of(raw_path)
        except BadPathError as error:
            log.info("path refused", reason=str(error), correlation_id=correlation_id)
            detail = (
                f"The path is refused: {error}. A path must stay inside /api/<service>; "
                "send it without dot segments, backslashes or their encoded forms."
            )
            await send_problem(send, 400, detail, correlation_id)
            return
        service, path = path_target.service, path_target.path
        base = self.upstreams.get(service)
        if base is None:
            await send_problem(send, 404, "No such service.", correlation_id)
            return
        assert self.session is not None, "the gateway's lifespan has not started"
        query = scope.get("query_string", b"").decode("latin-1")
        target = URL(base + path + (f"?{query}" if query else ""), encoded=True)
        headers = _forwarded_headers(scope, correlation_id, self.trusted.client_view(scope))
        body = await _body(receive)
        method: str = scope["method"]
        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        for attempt in (1, 2):
            try:
                async with self.session.request(
                    method,
                    target,
                    headers=headers,
                    data=body or None,
                    allow_redirects=False,
                ) as upstream:
                    await _relay_response(upstream, send_tracked, self.internal)
                    return
            except (aiohttp.ClientError, ClientGoneError, TimeoutError) as error:
                if isinstance(body, StreamedBody) and body.client_gone:
                    log.info(
                        "client went away mid-request",
                        service=service,
                        correlation_id=correlation_id,
                    )
                    return
                # A kept-alive connection the service closed as the request went out: an
                # idempotent request is sent once more on a new one; any other might have been
                # applied. A streamed body has been read by the first attempt and cannot be
                # sent again.
                retryable = method in IDEMPOTENT and isinstance(body, bytes)
                if _dropped(error) and not started and attempt == 1 and retryable:
                    log.info(
                        "upstream connection dropped; sending again on a new one",
                        service=service,
                        error=type(error).__name__,
                        correlation_id=correlation_id,
                    )
                    continue
                failure: Exception = error
            break
        if started:  # the answer broke off midway: the client sees a cut connection
            log.warning(
                "upstream answer broke off",
                service=service,
                error=repr(failure),
                correlation_id=correlation_id,
            )
            return
        log.warning(
            "upstream unreachable",
            service=service,
            error=repr(failure),
            correlation_id=correlation_id,
        )
        await send_problem(
            send,
            503,
            f"The {service} service is unavailable; try again shortly.",
            correlation_id,
            extra=[(b"retry-after", b"2")],
        )


class ClientGoneError(ConnectionError):
    """The client closed its connection while its request body was still streaming."""


def _dropped(error: BaseException) -> bool:
    """The service closed or reset the connection before answering (not: it could not be
    reached at all, or it was too slow)."""
    if isinstance(error, aiohttp.ClientConnectorError):
        return False
    return isinstance(
        error,
        aiohttp.ServerDisconnectedError
        | aiohttp.ClientConnectionResetError
        | aiohttp.ClientOSError,
    )


def _forwarded_headers(
    scope: Scope, correlation_id: str, view: ClientView
) -> list[tuple[str, str]]:
    """The client's headers without the hop-by-hop ones and without what it said about its
    own connection, plus the correlation id and what the gateway determined about the client
    (`X-Forwarded-For` with one address, `-Proto`, `-Host`; forwarding.py)."""
    headers: list[tuple[str, str]] = []
    # With traces on, the service continues the gateway's span (which continued the caller's),
    # or learns the trace is not kept; off, a caller's `traceparent` passes through as it came.
    traceparent = forwarded_traceparent(
        caller_sent_one=any(key == b"traceparent" for key, _ in scope["headers"])
    )
    replaced = {"x-correlation-id", "x-request-id"} | ({TRACEPARENT} if traceparent else set())
    for key, value in scope["headers"]:
        name = key.decode("latin-1").lower()
        if name in HOP_BY_HOP or name in FORWARDING_HEADERS or name in replaced:
            continue
        headers.append((name, value.decode("latin-1")))
    headers += [("x-correlation-id", correlation_id), ("x-request-id", correlation_id)]
    if traceparent:
        headers.append((TRACEPARENT, traceparent))
    return headers + forwarding_headers(view)


class StreamedBody:
    """A request body handed on part by part as it arrives (an async iterable for aiohttp)."""

    def __init__(self, receive: Receive, first: bytes) -> None:
        self._receive, self._first = receive, first
        self.client_gone = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._first
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                # Ending the stream here would leave the service waiting for the rest of a
                # Content-Length; failing it cuts the upstream connection, so the service
                # sees the upload break off at once. (aiohttp reports it as its own
                # ClientOSError; the flag tells the two apart.)
                self.client_gone = True
                raise ClientGoneError
            yield bytes(message.get("body", b""))
            if not message.get("more_body", False):
                return


async def _body(receive: Receive) -> bytes | StreamedBody:
    """The request body: bytes when it came in one message (every JSON call), otherwise a
    stream that hands each part on as it arrives."""
    first = await receive()
    if first["type"] == "http.disconnect":
        return b""
    if not first.get("more_body", False):
        return bytes(first.get("body", b""))
    return StreamedBody(receive, bytes(first.get("body", b"")))


async def _relay_response(
    upstream: aiohttp.ClientResponse, send: Send, internal: InternalOrigins
) -> None:
    headers = []
    for key, raw in upstream.raw_headers:
        name = key.decode("latin-1").lower()
        if name in RESPONSE_SKIPPED:
            continue
        if name in ("location", "content-location"):
            # A service builds a redirect from the Host it was sent, its own internal address.
            public = internal.public_location(raw.decode("latin-1"))
            headers.append((name.encode("latin-1"), public.encode("latin-1")))
        else:
            headers.append((name.encode("latin-1"), raw))
    await send({"type": "http.response.start", "status": upstream.status, "headers": headers})
    async for chunk in upstream.content.iter_chunked(CHUNK):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
