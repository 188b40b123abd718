"""Tickets service settings (`TICKETS_*`)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings
from services.tickets.domain import LifecycleRules


class TicketsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TICKETS_", extra="ignore", frozen=True)

    service_name: str = "tickets"
    reopen_window_days: float = Field(default=14, gt=0, le=365)
    """How long after resolution the customer may reopen; then the ticket closes itself."""
    received_max_age_days: float = Field(default=7, gt=0, le=90)
    """How far back a consultant may date a phone or e-mail ticket (`received_at`)."""
    auto_close_interval_s: float = Field(default=300, gt=0)
    """How often resolved tickets past the reopening window are looked for and closed."""
    attachment_wait_s: float = Field(default=5, ge=0, le=30)
    """How long a message naming a file this service has not heard of yet waits for the
    content service's `AttachmentUploaded` (an upload completed a moment ago) before it is
    refused."""

    def lifecycle(self) -> LifecycleRules:
        return LifecycleRules(
            reopen_window=timedelta(days=self.reopen_window_days),
            received_max_age=timedelta(days=self.received_max_age_days),
        )
