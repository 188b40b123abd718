"""Settings every service has; each service subclasses this with its own env prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Read from `<PREFIX>_*` environment variables, e.g. `TICKETS_DATABASE_URL`."""

    # A bad value's error names the setting, never the value: settings carry secrets.
    model_config = SettingsConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    service_name: str
    environment: Literal["production", "development", "test"] = "production"
    """Where the service runs; `ticketing dev` says development, the tests' stack test."""
    clock_file: Path | None = None
    """Run on a controlled clock read from this file (docs/time.md): the test and dev stacks
    only; a production service refuses to start with it."""
    database_url: SecretStr = Field(description="postgresql://role:password@host:port/database")
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_sasl_username: str | None = None
    """With a user name, the service signs in to Kafka with SCRAM-SHA-512 (Strimzi `KafkaUser`)."""
    kafka_sasl_password: SecretStr | None = None
    kafka_tls_ca_file: str | None = None
    """With a CA file, the connection to Kafka is TLS, verified against it."""
    db_pool_min_size: int = Field(default=1, ge=0)
    db_pool_max_size: int = Field(default=10, ge=1)
    db_command_timeout_s: float = Field(default=10.0, gt=0)
    migrate_on_start: bool = True
    """Apply pending migrations at start-up (under an advisory lock). Kubernetes runs
    `ticketing migrate <service>` in an init container instead and sets this to false: the
    service then refuses to start while a migration is pending."""
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    kafka_request_timeout_ms: int = Field(default=15_000, ge=1000)
    relay_poll_interval_s: float = Field(default=0.5, gt=0)
    relay_batch_size: int = Field(default=200, ge=1)
    relay_max_backoff_s: float = Field(default=10.0, gt=0)
    outbox_retention_days: int = Field(default=7, ge=1)
    inbox_retention_days: int = Field(default=45, ge=1)
    """How long a consumer remembers an event it applied, to skip it when delivered again
    (services/runtime/inbox.py says why 45 days covers every redelivery of the topics' 30 days)."""
    inbox_prune_interval_s: float = Field(default=3600.0, gt=0)
    consumer_max_attempts: int = Field(default=5, ge=1)
    consumer_batch_size: int = Field(default=500, ge=1)
    consumer_batch_timeout_ms: int = Field(default=50, ge=1)
    parked_max_age_s: float = Field(default=300.0, gt=0)
    """How long a record that depends on something not yet seen waits (parked) before it goes
    to the dead-letter topic (reason `dependency-missing`)."""
    parked_retry_interval_s: float = Field(default=1.0, gt=0)
    consumer_group_instance_id: str | None = None
    """Static group membership (KIP-345): a restarted consumer with the same instance id gets its
    partitions back at once instead of waiting for a rebalance. One id per replica, stable
    across its restarts (a StatefulSet pod name); unset, membership is dynamic."""
    consumer_concurrency: int = Field(default=4, ge=1, le=32)
    """Groups of a batch applied side by side (by message key; each needs a pool connection)."""
    # The embedded Tansu broker answers a fetch only when this wait is over, even when data arrived
    # earlier; it bounds each hop's latency there. Apache Kafka answers as soon as data arrives.
    consumer_fetch_max_wait_ms: int = Field(default=100, ge=10, le=5000)
    # A restarted consumer resumes once the group has rebalanced; with these (Kafka's smallest
    # default session timeout) that took 5 s on the embedded broker, 18 s with 10 s / 30 s
    # (docs/decisions.md). Heartbeats run beside the handlers, so a long batch does not expire.
    consumer_session_timeout_ms: int = Field(default=6_000, ge=1000)
    consumer_rebalance_timeout_ms: int = Field(default=6_000, ge=1000)
    shutdown_grace_s: float = Field(default=15.0, gt=0)
    metrics_refresh_s: float = Field(default=5.0, gt=0, le=60)
    """How often the gauges read from the database and the broker are refreshed (outbox
    backlog, e-mails pending, broker up, consumer lag); a scrape reads the last values."""
    consumer_wedged_after_s: float = Field(default=600.0, gt=0)
    """A batch in progress for longer than this fails `/healthz`, the liveness probe: the
    consumer is wedged and the pod is restarted (services/runtime/health.py). Longer than the
    consumer's poll interval (300 s), after which the group gave its partitions away anyway."""
    body_max_bytes: int = Field(default=1 << 20, ge=1024)
    """Largest request body a route takes; a larger one is refused with 413
    (services/runtime/bodies.py). The ingress's `proxy-body-size` follows this default."""
    import_body_max_bytes: int = Field(default=25 << 20, ge=1024)
    """Largest body of an import route (the legacy users' CSV, the old portal's tickets)."""
    auth_jwks_url: str = Field(
        default="http://127.0.0.1:8001/api/auth/.well-known/jwks.json",
        description="where the auth service publishes the access tokens' public keys",
    )
    jwt_issuer: str = "ticketing-auth"
    jwt_audience: str = "ticketing-api"
    revocations_refresh_s: float = Field(default=1.0, gt=0, le=10)
    """How often each replica reads the revocation list (tokens auth revoked before they
    expired) from its database into memory: the largest share of the delay before a signed-out
    or deactivated user's token is refused (services/runtime/revocation.py)."""
    revocations_stale_after_s: float = Field(default=30.0, gt=0)
    """A list not read for this long (the database unreachable) no longer vouches for tokens:
    requests get 503 until it is read again."""

    @model_validator(mode="after")
    def _revocations_read_before_they_are_stale(self) -> Self:
        if self.revocations_stale_after_s < 3 * self.revocations_refresh_s:
            raise ValueError(
                "revocations_stale_after_s must be at least three times revocations_refresh_s"
            )
        return self

    @model_validator(mode="after")
    def _real_clock_in_production(self) -> Self:
        if self.clock_file is not None and self.environment == "production":
            raise ValueError(
                "CLOCK_FILE (a controlled clock) is for the test and dev stacks only; "
                "production always runs on the real clock"
            )
        return self
