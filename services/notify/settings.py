"""Notification service settings (`NOTIFY_*`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore", frozen=True)

    service_name: str = "notify"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_timeout_s: float = Field(default=10.0, gt=0)
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    """`starttls` upgrades a plain connection (port 587); `tls` connects over TLS (port 465)."""
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = "Podpora <podpora@ticketing.example>"
    portal_url: str = Field(default="http://127.0.0.1:8000", description="links in e-mails")
    sender_poll_interval_s: float = Field(default=0.2, gt=0)
    sender_max_backoff_s: float = Field(default=300.0, gt=0)
    sender_max_attempts: int = Field(default=20, ge=1)
    """After this many failed attempts (about 1.2 hours with the default backoff) an e-mail is
    recorded as failed and not tried again."""
    sender_settle_s: float = Field(default=600.0, gt=0)
    """How long the sender keeps an e-mail's outcome in memory while the database is away."""
    sender_lease_s: float = Field(default=1800.0, gt=0)
    """After this long an e-mail left `sending` (its sender died) is tried again; longer than
    `sender_settle_s`, so a live sender's outcome is never overtaken."""
