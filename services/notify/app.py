"""Wiring of the notification service: `uvicorn --factory services.notify.app:create_app`."""

from __future__ import annotations

from pathlib import Path

import asyncpg
from fastapi import FastAPI

from services.notify.api import router
from services.notify.consumers import build_consumer
from services.notify.sender import SmtpSender
from services.notify.settings import NotifySettings
from services.runtime.app import build_service_app


def create_app(settings: NotifySettings | None = None) -> FastAPI:
    settings = settings or NotifySettings()

    def sender(pool: asyncpg.Pool) -> SmtpSender:
        return SmtpSender(pool, settings)

    return build_service_app(
        settings,
        title="Notification service",
        migrations=Path(__file__).parent / "migrations",
        routers=[router],
        consumers=[build_consumer(portal_url=settings.portal_url)],
        background=[sender],
    )
