"""HTTP plumbing shared by the services: correlation ids, health and readiness, error shapes."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaBroker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime.db import UNAVAILABLE_ERRORS
from services.runtime.parking import count_parked

log = structlog.get_logger(__name__)

CORRELATION_HEADERS = (b"x-correlation-id", b"x-request-id")
DATABASE_CHECK_ERRORS: tuple[type[Exception], ...] = (*UNAVAILABLE_ERRORS, asyncpg.PostgresError)
UNSTORABLE_TEXT_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.CharacterNotInRepertoireError,  # U+0000 in a text parameter
    asyncpg.UntranslatableCharacterError,  # \u0000 in a JSON document
)


class CorrelationIdMiddleware:
    """Take the correlation id from `X-Correlation-ID`/`X-Request-ID` (or make one), bind it to the
    logs of the request, and return it in both headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw = next((headers[h] for h in CORRELATION_HEADERS if h in headers), b"")
        correlation_id = raw.decode("latin-1")[:200].strip() or str(uuid.uuid4())

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [(h, correlation_id.encode("latin-1")) for h in CORRELATION_HEADERS]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
        try:
            await self.app(scope, receive, send_with_header)
        finally:
            structlog.contextvars.clear_contextvars()


def health_router(
    pool_of: Callable[[], asyncpg.Pool | None], broker_of: Callable[[], KafkaBroker | None]
) -> APIRouter:
    """`/healthz`: the process answers. `/readyz`: the database and the broker answer too."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        checks = {
            "database": await _database_ok(pool_of()),
            "broker": await _broker_ok(broker_of()),
        }
        ready = all(checks.values())
        body: dict[str, object] = {
            "status": "ready" if ready else "not ready",
            **{k: _word(v) for k, v in checks.items()},
        }
        if checks["database"]:
            body["parked_records"] = await _parked(pool_of())
        return JSONResponse(body, status_code=200 if ready else 503)

    return router


def _word(ok: bool) -> str:
    return "ok" if ok else "unavailable"


async def _database_ok(pool: asyncpg.Pool | None) -> bool:
    if pool is None:
        return False
    try:
        async with pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1", timeout=2)
    except DATABASE_CHECK_ERRORS:
        return False
    return True


async def _parked(pool: asyncpg.Pool | None) -> int | None:
    """Records waiting for what they depend on (services/runtime/parking.py)."""
    if pool is None:
        return None
    try:
        async with pool.acquire(timeout=2) as conn:
            return await count_parked(conn)
    except DATABASE_CHECK_ERRORS:
        return None


async def _broker_ok(broker: KafkaBroker | None) -> bool:
    if broker is None:
        return False
    try:
        return await broker.ping(timeout=2)
    except Exception:
        return False


def install_error_handlers(app: FastAPI) -> None:
    """Answer 503 with a clear body while the database cannot be reached, and 422 for a text
    PostgreSQL cannot store (U+0000)."""

    async def unavailable(_: Request, error: Exception) -> JSONResponse:
        log.warning("database unavailable", error=repr(error))
        return JSONResponse(
            {"detail": "The service's database is unavailable; try again shortly."},
            status_code=503,
            headers={"Retry-After": "2"},
        )

    async def unstorable(_: Request, error: Exception) -> JSONResponse:
        # PostgreSQL text cannot hold U+0000; the statement failed, so its transaction rolled
        # back and nothing was changed.
        log.info("request refused: a text holds U+0000", error=type(error).__name__)
        return JSONResponse(
            {
                "detail": "A text in the request contains the character U+0000 (NUL), which "
                "cannot be stored or searched for; remove it and try again."
            },
            status_code=422,
        )

    handler: Callable[[Request, Exception], Awaitable[JSONResponse]] = unavailable
    for error_type in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error_type, handler)
    for error_type in UNSTORABLE_TEXT_ERRORS:
        app.add_exception_handler(error_type, unstorable)
