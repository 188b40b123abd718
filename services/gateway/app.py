"""The HTTP gateway: one address for the portal frontend, routing `/api/<service>/*` onward.

`uvicorn --factory services.gateway.app:create_app`. It passes requests through unchanged except
that every request gets an `X-Request-ID`/`X-Correlation-ID` (kept when the caller sent one), an
`X-Forwarded-For`, and, with traces on, the `traceparent` of the gateway's own span, where a
ticket's trace starts (services/runtime/tracing.py). Bodies stream both ways: a large upload or
download is never held whole in memory. The proxy is a plain ASGI callable on aiohttp's client,
not a FastAPI route on httpx: the latter cost ~5 ms of CPU per request (docs/decisions.md, "The
event pipeline at speed").
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.cors import CorsMiddleware
from services.gateway.proxy import Proxy
from services.gateway.settings import GatewaySettings
from services.runtime.logging import configure_logging
from services.runtime.metrics import UNMATCHED_ROUTE, HttpMetricsMiddleware, metrics_endpoint
from services.runtime.tracing import ServerSpanMiddleware, configure_tracing, flush_traces, wanted

__all__ = ["GatewaySettings", "create_app"]


def create_app(settings: GatewaySettings | None = None) -> ASGIApp:
    settings = settings or GatewaySettings()
    upstreams = settings.upstreams()
    proxy = Proxy(upstreams, settings.proxies())
    # Traces only when an OTLP endpoint is configured, as in the services.
    tracer_provider = configure_tracing("gateway") if wanted() else None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        configure_logging("gateway", fmt=settings.log_format, level=settings.log_level)
        connector = aiohttp.TCPConnector(
            limit=settings.connections,
            limit_per_host=0,
            keepalive_timeout=settings.upstream_idle_s,
        )
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=settings.timeout_s)
        # No cookie jar: one user's Set-Cookie must never ride along on another's request.
        async with aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,  # bodies pass through as the service encoded them
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        ) as session:
            # aiohttp re-sends an idempotent request itself on some dropped connections, with
            # no public switch; the proxy decides retries in one place (proxy.py), so this one
            # is off, as aiohttp's own test client turns it off (docs/decisions.md, "Hardened
            # HTTP surface"). tests/integration/test_gateway.py counts the attempts a service
            # sees, so a renamed attribute fails the suite.
            session._retry_connection = False
            proxy.session = session
            yield
            proxy.session = None
        flush_traces(tracer_provider)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        session = proxy.session
        assert session is not None

        async def ready(url: str) -> bool:
            try:
                timeout = aiohttp.ClientTimeout(total=3)
                async with session.get(f"{url}/readyz", timeout=timeout) as response:
                    return response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        results = await asyncio.gather(*(ready(u) for u in upstreams.values()))
        checks = {
            name: "ok" if ok else "unavailable" for name, ok in zip(upstreams, results, strict=True)
        }
        status = 200 if all(results) else 503
        return JSONResponse({"status": "ready" if status == 200 else "not ready", **checks}, status)

    health = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_endpoint),
        ],
        lifespan=lifespan,
    )

    def route_of(scope: Scope) -> str:
        """`/api/<service>/*` by the upstream it went to; health paths as they are."""
        path = scope.get("path", "")
        if path.startswith("/api/"):
            service = path.split("/", 3)[2]
            return f"/api/{service}/*" if service in upstreams else UNMATCHED_ROUTE
        return path if path in ("/healthz", "/readyz", "/metrics") else UNMATCHED_ROUTE

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await proxy(scope, receive, send)
        else:
            await health(scope, receive, send)

    measured = HttpMetricsMiddleware(CorsMiddleware(app, settings.cors()), route_of=route_of)
    return ServerSpanMiddleware(measured, route_of=route_of)
