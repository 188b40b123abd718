"""Wiring of the tickets service: `uvicorn --factory services.tickets.app:create_app`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.runtime.app import build_service_app
from services.tickets.api import router
from services.tickets.consumers import build_consumer
from services.tickets.settings import TicketsSettings


def create_app(settings: TicketsSettings | None = None) -> FastAPI:
    settings = settings or TicketsSettings()
    return build_service_app(
        settings,
        title="Tickets service",
        migrations=Path(__file__).parent / "migrations",
        routers=[router],
        consumers=[build_consumer()],
    )
