"""Auth service settings (`AUTH_*`)."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from services.auth.sealing import DEVELOPMENT_KEY, SealingKeyError, parse_keys
from services.runtime.settings import ServiceSettings

# OWASP Password Storage Cheat Sheet: Argon2id with at least m=19 MiB, t=2, p=1.
ARGON2_MIN_MEMORY_KIB = 19 * 1024
ARGON2_MIN_TIME_COST = 2


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore", frozen=True)

    service_name: str = "auth"
    seed_demo: bool = Field(default=False, description="create the demo organization and users")
    demo_password: SecretStr | None = Field(
        default=None, description="password of the demo users (only with seed_demo)"
    )

    portal_url: str = Field(
        default="http://127.0.0.1:8000",
        description="base of the links in e-mails; never taken from a request's Host header",
    )
    reset_path: str = "/ponastavitev-gesla"

    access_token_ttl_s: int = Field(default=600, ge=30, le=3600)
    session_ttl_s: int = Field(default=12 * 3600, ge=60, description="without 'stay signed in'")
    persistent_session_ttl_s: int = Field(default=30 * 86400, ge=60, description="'stay signed in'")
    reset_token_ttl_s: int = Field(default=3600, ge=60, le=86400)
    invitation_token_ttl_s: int = Field(default=7 * 86400, ge=3600, le=30 * 86400)
    cookie_secure: bool = Field(default=True, description="refresh cookie only over HTTPS")

    argon2_time_cost: int = Field(default=3, ge=ARGON2_MIN_TIME_COST)
    argon2_memory_kib: int = Field(default=64 * 1024, ge=ARGON2_MIN_MEMORY_KIB)
    argon2_parallelism: int = Field(default=4, ge=1, le=16)
    max_concurrent_hashes: int = Field(default=4, ge=1, description="bounds hashing memory")

    throttle_account_free_failures: int = Field(default=5, ge=1)
    throttle_ip_free_failures: int = Field(default=20, ge=1)
    throttle_base_wait_s: float = Field(default=1.0, gt=0)
    throttle_max_wait_s: float = Field(default=900.0, gt=0)
    throttle_forget_after_s: float = Field(default=12 * 3600.0, gt=0)
    password_links_per_window: int = Field(
        default=5, ge=1, description="password links (reset or invitation) e-mailed to one address"
    )
    password_link_window_s: float = Field(
        default=3600.0, gt=0, description="the window PASSWORD_LINKS_PER_WINDOW counts over"
    )

    key_encryption_keys: SecretStr | None = Field(
        default=None,
        description="Fernet keys (comma-separated) that seal the signing keys in the database; "
        "the first seals, all open (services/auth/README.md, 'Signing keys at rest'). Required "
        "in production; elsewhere a public development key is used when unset",
    )

    def sealing_keys(self) -> list[str]:
        if self.key_encryption_keys is None:
            return [DEVELOPMENT_KEY]
        return parse_keys(self.key_encryption_keys.get_secret_value())

    @model_validator(mode="after")
    def _signing_keys_sealed_with_a_secret_in_production(self) -> AuthSettings:
        try:
            keys = self.sealing_keys()
        except SealingKeyError as error:
            raise ValueError(f"AUTH_KEY_ENCRYPTION_KEYS: {error}") from None
        if self.environment == "production" and (
            self.key_encryption_keys is None or DEVELOPMENT_KEY in keys
        ):
            raise ValueError(
                "AUTH_KEY_ENCRYPTION_KEYS must name a secret key in production (the development "
                "key is public); see services/auth/README.md, 'Signing keys at rest'"
            )
        return self

    @model_validator(mode="after")
    def _waits_are_ordered(self) -> AuthSettings:
        if self.throttle_base_wait_s > self.throttle_max_wait_s:
            raise ValueError("throttle_base_wait_s must not exceed throttle_max_wait_s")
        return self
