"""The HTTP gateway: one address for the portal frontend, routing `/api/<service>/*` onward.

`uvicorn --factory services.gateway.app:create_app`. It passes requests through unchanged except
that every request gets an `X-Request-ID`/`X-Correlation-ID` (kept when the caller sent one).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import httpx
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.runtime.logging import configure_logging

log = structlog.get_logger(__name__)

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    auth_url: str = "http://127.0.0.1:8001"
    tickets_url: str = "http://127.0.0.1:8002"
    billing_url: str = "http://127.0.0.1:8003"
    notify_url: str = "http://127.0.0.1:8004"
    timeout_s: float = Field(default=30.0, gt=0)
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    def upstreams(self) -> dict[str, str]:
        return {
            "auth": self.auth_url,
            "tickets": self.tickets_url,
            "billing": self.billing_url,
            "notify": self.notify_url,
        }


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    upstreams = settings.upstreams()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("gateway", fmt=settings.log_format, level=settings.log_level)
        # Enough kept-alive connections for every request in flight: with httpx's default of 20,
        # concurrent requests beyond it opened and closed a connection each.
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
        async with httpx.AsyncClient(timeout=settings.timeout_s, limits=limits) as client:
            app.state.client = client
            yield

    app = FastAPI(title="Gateway", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        client: httpx.AsyncClient = request.app.state.client

        async def ready(url: str) -> bool:
            try:
                return (await client.get(f"{url}/readyz", timeout=3)).status_code == 200
            except httpx.HTTPError:
                return False

        results = await asyncio.gather(*(ready(u) for u in upstreams.values()))
        checks = {
            name: "ok" if ok else "unavailable" for name, ok in zip(upstreams, results, strict=True)
        }
        status = 200 if all(results) else 503
        return JSONResponse({"status": "ready" if status == 200 else "not ready", **checks}, status)

    @app.api_route("/api/{service}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    @app.api_route("/api/{service}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def forward(service: str, request: Request, path: str = "") -> Response:
        base = upstreams.get(service)
        if base is None:
            return JSONResponse({"detail": f"No service {service!r}."}, status_code=404)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        correlation_id = (
            request.headers.get("x-correlation-id")
            or request.headers.get("x-request-id")
            or str(uuid.uuid4())
        )
        headers["x-correlation-id"] = headers["x-request-id"] = correlation_id
        # The services see the client's address through the gateway (uvicorn's proxy headers,
        # trusted only from the addresses in FORWARDED_ALLOW_IPS).
        if request.client is not None:
            forwarded = request.headers.get("x-forwarded-for")
            peer = request.client.host
            headers["x-forwarded-for"] = f"{forwarded}, {peer}" if forwarded else peer
        client: httpx.AsyncClient = request.app.state.client
        target = f"{base}{request.url.path}"
        try:
            upstream = await client.request(
                request.method,
                target,
                params=request.query_params,
                headers=headers,
                content=await request.body(),
            )
        except httpx.HTTPError as error:
            log.warning(
                "upstream unreachable",
                service=service,
                error=repr(error),
                correlation_id=correlation_id,
            )
            return JSONResponse(
                {"detail": f"The {service} service is unavailable; try again shortly."},
                status_code=503,
                headers={"x-correlation-id": correlation_id, "Retry-After": "2"},
            )
        response = Response(upstream.content, status_code=upstream.status_code)
        # multi_items keeps repeated headers (several Set-Cookie) apart.
        for key, value in upstream.headers.multi_items():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-encoding":
                response.headers.append(key, value)
        return response

    return app
