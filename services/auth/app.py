"""Wiring of the auth service: `uvicorn --factory services.auth.app:create_app`."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from fastapi import FastAPI

from services.auth.admin_api import DOMAIN_ERRORS, build_admin_router
from services.auth.api import build_router
from services.auth.context import AuthContext
from services.auth.demo import seed_demo
from services.auth.settings import AuthSettings
from services.runtime.app import build_service_app
from services.runtime.clock import clock_for


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    settings = settings or AuthSettings()
    clock = clock_for(settings.clock_file)
    ctx = AuthContext(settings, clock)

    async def seed(pool: asyncpg.Pool) -> None:
        await seed_demo(pool, ctx)

    return build_service_app(
        settings,
        clock=clock,
        title="Auth service",
        migrations=Path(__file__).parent / "migrations",
        routers=[build_router(ctx), build_admin_router(ctx)],
        on_startup=[ctx.start, *([seed] if settings.seed_demo else [])],
        key_source=ctx.key_store,
        # auth ends access itself and writes its own revocation list in the same
        # transactions; it reads no topic.
        writes_revocations=True,
        domain_errors=DOMAIN_ERRORS,
    )
