"""Wiring of the billing-policy service: `uvicorn --factory services.billing.app:create_app`."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import asyncpg
from fastapi import FastAPI

from services.billing import handlers
from services.billing.api import DOMAIN_ERRORS, router
from services.billing.consumers import build_consumer
from services.billing.policy import PolicyParameters
from services.billing.settings import BillingSettings
from services.runtime.app import build_service_app
from services.runtime.clock import clock_for
from services.runtime.periodic import PeriodicWorker

BANDS_BATCH = 500
BANDS_INTERVAL_S = 600.0


def create_app(settings: BillingSettings | None = None) -> FastAPI:
    settings = settings or BillingSettings()
    params = PolicyParameters()

    def band_filler(pool: asyncpg.Pool) -> PeriodicWorker:
        """Compute P-REPEAT's bands of tickets remembered before they were kept."""
        return PeriodicWorker(
            "repeat-bands-fill",
            partial(handlers.fill_repeat_bands, pool, batch=BANDS_BATCH),
            batch_size=BANDS_BATCH,
            interval_s=BANDS_INTERVAL_S,
        )

    app = build_service_app(
        settings,
        clock=clock_for(settings.clock_file),
        title="Billing-policy service",
        migrations=Path(__file__).parent / "migrations",
        routers=[router],
        consumers=[build_consumer(params)],
        background=[band_filler],
        domain_errors=DOMAIN_ERRORS,
    )
    app.state.policy = params
    return app
