"""Wiring of the tickets service: `uvicorn --factory services.tickets.app:create_app`."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import asyncpg
from fastapi import FastAPI

from services.runtime.app import build_service_app
from services.runtime.clock import clock_for
from services.runtime.periodic import PeriodicWorker
from services.tickets import archive_api, handlers
from services.tickets.api import DOMAIN_ERRORS, router
from services.tickets.consumers import build_consumer
from services.tickets.settings import TicketsSettings

AUTO_CLOSE_BATCH = 100


def create_app(settings: TicketsSettings | None = None) -> FastAPI:
    settings = settings or TicketsSettings()
    rules = settings.lifecycle()
    clock = clock_for(settings.clock_file)

    def auto_closer(pool: asyncpg.Pool) -> PeriodicWorker:
        """Close resolved tickets once their reopening window has ended."""
        return PeriodicWorker(
            "ticket-auto-close",
            partial(handlers.close_expired, pool, rules=rules, clock=clock, batch=AUTO_CLOSE_BATCH),
            batch_size=AUTO_CLOSE_BATCH,
            interval_s=settings.auto_close_interval_s,
        )

    app = build_service_app(
        settings,
        clock=clock,
        title="Tickets service",
        migrations=Path(__file__).parent / "migrations",
        routers=[archive_api.router, router],
        consumers=[build_consumer()],
        background=[auto_closer],
        domain_errors=DOMAIN_ERRORS,
    )
    app.state.ticket_rules = rules
    app.state.attachment_wait_s = settings.attachment_wait_s
    return app
