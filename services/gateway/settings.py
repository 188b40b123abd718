"""Gateway settings (`GATEWAY_*`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.gateway.cors import DEFAULT_MAX_AGE_S, CorsPolicy, parse_origins
from services.gateway.forwarding import TrustedProxies, parse_networks


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    auth_url: str = "http://127.0.0.1:8001"
    tickets_url: str = "http://127.0.0.1:8002"
    billing_url: str = "http://127.0.0.1:8003"
    notify_url: str = "http://127.0.0.1:8004"
    content_url: str = "http://127.0.0.1:8005"
    timeout_s: float = Field(default=30.0, gt=0, description="longest wait for upstream bytes")
    connections: int = Field(default=256, ge=1, description="kept-alive connections in all")
    upstream_idle_s: float = Field(
        default=4.0,
        gt=0,
        description="how long an idle connection to a service is kept; below the services' own "
        "keep-alive timeout (uvicorn's 5 s), so that they never close one the gateway reuses",
    )
    trusted_proxies: str = Field(
        default="",
        description="addresses or networks (comma-separated) whose X-Forwarded-For, -Proto and "
        "-Host are believed; empty: the connecting peer is the client",
    )
    cors_allow_origins: str = Field(
        default="",
        description="the portal's origins (comma-separated, e.g. https://portal.example.com) "
        "whose scripts may call the API with credentials; empty: no cross-origin calls",
    )
    cors_max_age_s: int = Field(
        default=DEFAULT_MAX_AGE_S, ge=0, le=86400, description="how long a preflight is reused"
    )
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    @field_validator("cors_allow_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        parse_origins(value)
        return value

    def cors(self) -> CorsPolicy:
        """Who may call the API from a browser page of another origin."""
        return CorsPolicy(frozenset(parse_origins(self.cors_allow_origins)), self.cors_max_age_s)

    def proxies(self) -> TrustedProxies:
        """The proxies in front of the gateway whose forwarding headers are believed."""
        return TrustedProxies(parse_networks(self.trusted_proxies))

    def upstreams(self) -> dict[str, str]:
        return {
            "auth": self.auth_url,
            "tickets": self.tickets_url,
            "billing": self.billing_url,
            "notify": self.notify_url,
            "content": self.content_url,
        }
