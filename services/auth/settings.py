"""Auth service settings (`AUTH_*`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.runtime.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore", frozen=True)

    service_name: str = "auth"
    seed_demo: bool = Field(default=False, description="create the demo organization and users")
    dev_token_ttl_minutes: int = Field(default=720, ge=1)
