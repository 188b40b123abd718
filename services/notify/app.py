"""Wiring of the notification service: `uvicorn --factory services.notify.app:create_app`."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from fastapi import FastAPI

from services.notify.api import router
from services.notify.consumers import build_consumer
from services.notify.metrics import refresh_emails
from services.notify.sender import SmtpSender
from services.notify.settings import NotifySettings
from services.runtime.app import build_service_app
from services.runtime.clock import clock_for
from services.runtime.periodic import PeriodicWorker


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()

    def sender(pool: asyncpg.Pool) -> PeriodicWorker:
        smtp = SmtpSender(pool, settings)
        return PeriodicWorker(
            "smtp-sender",
            smtp.send_due,
            batch_size=smtp.batch_size,
            interval_s=settings.sender_poll_interval_s,
        )

    return build_service_app(
        settings,
        clock=clock_for(settings.clock_file),
        title="Notification service",
        migrations=Path(__file__).parent / "migrations",
        routers=[router],
        consumers=[build_consumer(portal_url=settings.portal_url)],
        background=[sender],
        metrics=[refresh_emails],
    )
