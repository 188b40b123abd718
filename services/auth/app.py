"""Wiring of the auth service: `uvicorn --factory services.auth.app:create_app`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.auth.api import build_router
from services.auth.demo import seed_demo
from services.auth.settings import AuthSettings
from services.runtime.app import build_service_app


def create_app(settings: AuthSettings | None = None) -> FastAPI:
    settings = settings or AuthSettings()
    return build_service_app(
        settings,
        title="Auth service",
        migrations=Path(__file__).parent / "migrations",
        routers=[build_router(settings)],
        on_startup=[seed_demo] if settings.seed_demo else [],
    )
