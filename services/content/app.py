"""Wiring of the content service: `uvicorn --factory services.content.app:create_app`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import asyncpg
import obstore.exceptions
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.content import (
    admin_api,
    api,
    attachment_handlers,
    attachments_api,
    entitlements_api,
    uploads,
)
from services.content.consumers import build_consumer
from services.content.settings import ContentSettings
from services.content.storage import LostFileError, open_store, reachable
from services.content.views import DOMAIN_ERRORS
from services.runtime.app import build_service_app
from services.runtime.clock import clock_for
from services.runtime.periodic import PeriodicWorker
from services.runtime.problems import problem_response

log = structlog.get_logger(__name__)

SWEEP_BATCH = 100


def create_app(settings: ContentSettings | None = None) -> FastAPI:
    settings = settings or ContentSettings()
    clock = clock_for(settings.clock_file)
    store = open_store(settings)

    def sweeper(
        name: str, sweep: Callable[..., Awaitable[int]], interval_s: float, **after_s: float
    ) -> Callable[[asyncpg.Pool], PeriodicWorker]:
        """A worker that sweeps the database and the file store every `interval_s`."""

        def worker(pool: asyncpg.Pool) -> PeriodicWorker:
            batch = partial(sweep, pool, store, clock=clock, batch=SWEEP_BATCH, **after_s)
            return PeriodicWorker(name, batch, batch_size=SWEEP_BATCH, interval_s=interval_s)

        return worker

    stale_uploads = sweeper(
        "stale-uploads",
        uploads.sweep_stale_uploads,
        settings.upload_sweep_interval_s,
        stale_after_s=settings.upload_stale_after_s,
    )
    unbound_attachments = sweeper(
        "unbound-attachments",
        attachment_handlers.sweep_unbound,
        settings.attachment_sweep_interval_s,
        unbound_after_s=settings.attachment_unbound_after_s,
    )

    app = build_service_app(
        settings,
        clock=clock,
        title="Content service",
        migrations=Path(__file__).parent / "migrations",
        routers=[api.router, admin_api.router, entitlements_api.router, attachments_api.router],
        consumers=[build_consumer()],
        background=[stale_uploads, unbound_attachments],
        reported_checks={"storage": partial(reachable, store)},
        domain_errors=DOMAIN_ERRORS,
    )
    app.state.store = store
    app.state.settings = settings

    async def storage_unavailable(request: Request, error: Exception) -> JSONResponse:
        log.warning("file storage unavailable", error=repr(error))
        return problem_response(
            503, "File storage is unavailable; try again shortly.", headers={"Retry-After": "5"}
        )

    async def lost_file(request: Request, error: Exception) -> JSONResponse:
        log.error("a stored file is missing from storage", storage_key=str(error))
        return problem_response(500, "The file cannot be read.")

    app.add_exception_handler(obstore.exceptions.BaseError, storage_unavailable)
    app.add_exception_handler(LostFileError, lost_file)
    return app
