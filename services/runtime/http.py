"""HTTP plumbing shared by the services: correlation ids and error answers (problem details,
services/runtime/problems.py); health and readiness are services/runtime/health.py."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.runtime.db import UNAVAILABLE_ERRORS
from services.runtime.problems import FieldProblem, ProblemError, problem_response

log = structlog.get_logger(__name__)

CORRELATION_HEADERS = (b"x-correlation-id", b"x-request-id")


def is_unstorable_text(error: BaseException) -> bool:
    """PostgreSQL (or asyncpg on the way to it) refused a text no database text can hold:
    U+0000 in a parameter or a JSON document, or a lone surrogate ("\\ud800" in JSON)."""
    return isinstance(
        error, asyncpg.CharacterNotInRepertoireError | asyncpg.UntranslatableCharacterError
    ) or (isinstance(error, asyncpg.DataError) and isinstance(error.__cause__, UnicodeEncodeError))


def validation_problems(errors: Sequence[Any]) -> list[FieldProblem]:
    """Pydantic's errors as problems' `errors` (`loc`, `msg`, `type`), without the input
    values or context: what was sent is never echoed."""
    return [
        FieldProblem(
            loc=[_printable(part) for part in e.get("loc", ())],
            msg=_printable(e.get("msg", "")),
            type=_printable(e.get("type", "")),
        )
        for e in errors
    ]


def _summary(found: Sequence[FieldProblem], shown: int = 3) -> str:
    """The `detail` of an invalid request: its first problems, where and what."""
    parts = [f"{'.'.join(str(p) for p in f.loc) or 'request'}: {f.msg}" for f in found[:shown]]
    more = f" (and {len(found) - shown} more)" if len(found) > shown else ""
    return "The request is not valid: " + "; ".join(parts) + more + "."


def _printable(value: Any) -> Any:
    """A location part or message as JSON can carry it (a lone surrogate becomes "?")."""
    if isinstance(value, int):
        return value
    return str(value).encode("utf-8", "replace").decode("utf-8")


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


def install_error_handlers(app: FastAPI) -> None:
    """Every error is answered as a problem (services/runtime/problems.py): an HTTPException as
    its status's kind; 503 with Retry-After while the database cannot be reached; 422 for a
    text PostgreSQL cannot store (U+0000, a lone surrogate), and for invalid input without
    echoing it; 500 with `Connection: close` for anything unexpected."""

    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        # Starlette re-raises after this answer and uvicorn logs the error and closes the
        # connection. Saying so keeps a client (the gateway's pool) from sending its next
        # request on a connection that is about to close: that request, a POST perhaps, was
        # lost with a 503 (docs/decisions.md, "Hardened HTTP surface").
        return problem_response(500, "Internal server error.", headers={"Connection": "close"})

    async def http_error(_: Request, error: Exception) -> Response:
        assert isinstance(error, StarletteHTTPException)
        if error.status_code < 400:
            return Response(status_code=error.status_code, headers=error.headers)
        if isinstance(error, ProblemError):
            return problem_response(
                error.status_code,
                str(error.detail),
                kind=error.kind.slug,
                errors=error.errors,
                headers=error.headers,
            )
        return problem_response(error.status_code, str(error.detail), headers=error.headers)

    async def unavailable(_: Request, error: Exception) -> JSONResponse:
        log.warning("database unavailable", error=repr(error))
        return problem_response(
            503,
            "The service's database is unavailable; try again shortly.",
            headers={"Retry-After": "2"},
        )

    async def data_error(_: Request, error: Exception) -> JSONResponse:
        if not is_unstorable_text(error):
            log.error("database refused the data", exc_info=error)
            return problem_response(500, "Internal server error.")
        # The statement failed, so its transaction rolled back and nothing was changed.
        log.info("request refused: a text cannot be stored", error=type(error).__name__)
        return problem_response(
            422,
            "A text in the request contains a character that cannot be stored or searched "
            "for (U+0000, or half of a surrogate pair); remove it and try again.",
            kind="unstorable-text",
        )

    async def invalid(_: Request, error: Exception) -> JSONResponse:
        # FastAPI's default answer echoes every offending input: passwords included, and a
        # lone surrogate or a NaN there made encoding the answer itself fail (a 500).
        assert isinstance(error, RequestValidationError)
        found = validation_problems(error.errors())
        return problem_response(422, _summary(found), errors=found)

    app.add_exception_handler(Exception, unexpected)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid)
    handler: Callable[[Request, Exception], Awaitable[JSONResponse]] = unavailable
    for error_type in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error_type, handler)
    app.add_exception_handler(asyncpg.DataError, data_error)
