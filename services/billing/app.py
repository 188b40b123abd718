"""Wiring of the billing-policy service: `uvicorn --factory services.billing.app:create_app`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from services.billing.api import router
from services.billing.consumers import build_consumer
from services.billing.policy import PolicyParameters
from services.billing.settings import BillingSettings
from services.runtime.app import build_service_app
from services.runtime.clock import clock_for


def create_app(settings: BillingSettings | None = None) -> FastAPI:
    settings = settings or BillingSettings()
    params = PolicyParameters()
    app = build_service_app(
        settings,
        clock=clock_for(settings.clock_file),
        title="Billing-policy service",
        migrations=Path(__file__).parent / "migrations",
        routers=[router],
        consumers=[build_consumer(params)],
    )
    app.state.policy = params
    return app
