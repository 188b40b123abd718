"""The runtime's error answers: a database that broke mid-request is 503 with Retry-After."""

from __future__ import annotations

import asyncpg
import httpx
from fastapi import FastAPI

from services.runtime.http import install_error_handlers


async def test_a_connection_broken_mid_statement_answers_503_with_retry_after() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/tickets")
    async def create() -> None:
        # What asyncpg raises when PostgreSQL stops while the insert is running.
        raise asyncpg.InternalClientError(
            "cannot switch to state 12; another operation is in progress"
        )

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        answer = await client.post("/tickets")

    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "2"
    assert "unavailable" in answer.json()["detail"]
