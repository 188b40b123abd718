"""The one place that wires a service: pool, migrations, broker, consumers, outbox relay, HTTP.

Around 380 lines on purpose: `build_service_app` is the whole start-up and shutdown order of a
service (docs/decisions.md, "One app factory for all services"), with the small builders of
what it starts beside it; split up, a reader would follow that order across files.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Protocol

import asyncpg
import structlog
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.telemetry import TelemetryConfig
from faststream.kafka import KafkaBroker

from services.runtime.bodies import BodyLimitMiddleware, BodyLimits
from services.runtime.clock import Clock, ControlledClock
from services.runtime.consumer import ConsumerRunner, EventConsumer, register_consumer
from services.runtime.db import RUNTIME_MIGRATIONS, create_pool, migrate, pending_migrations
from services.runtime.health import BrokerWatch, health_router
from services.runtime.http import CorrelationIdMiddleware, install_error_handlers
from services.runtime.identity import JwksKeySource, KeySource, TokenVerifier
from services.runtime.inbox import PRUNE_BATCH, prune_inbox
from services.runtime.kafka import create_broker
from services.runtime.logging import configure_logging
from services.runtime.metrics import (
    HttpMetricsMiddleware,
    MetricsRefresher,
    Refresh,
    refresh_outbox,
    refresh_parked,
)
from services.runtime.outbox import OutboxRelay
from services.runtime.periodic import PeriodicWorker
from services.runtime.problems import DomainErrors, answer_domain_errors, document_problems
from services.runtime.revocation import RevocationList, RevocationRefresher, keeps_revocations
from services.runtime.settings import ServiceSettings
from services.runtime.tracing import (
    ServerSpanMiddleware,
    configure_tracing,
    flush_traces,
    wanted,
)

log = structlog.get_logger(__name__)

NO_FASTAPI_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

StartupHook = Callable[[asyncpg.Pool], Awaitable[None]]


def build_service_app(
    settings: ServiceSettings,
    *,
    clock: Clock,
    title: str,
    migrations: Path,
    routers: Sequence[APIRouter] = (),
    consumers: Sequence[EventConsumer] = (),
    on_startup: Sequence[StartupHook] = (),
    background: Sequence[Callable[[asyncpg.Pool], BackgroundWorker]] = (),
    key_source: KeySource | None = None,
    reported_checks: Mapping[str, Callable[[], Awaitable[bool]]] | None = None,
    writes_revocations: bool = False,
    domain_errors: DomainErrors | None = None,
    metrics: Sequence[Refresh] = (),
) -> FastAPI:
    """Build the FastAPI app of one service; everything connects in the lifespan, not at import.

    `clock` is the service's one source of business time (`services.runtime.clock`); the same
    object goes to its handlers, consumers, workers and token checks.

    Every service refuses the tokens auth revoked (services/runtime/revocation.py): one of its
    consumers must apply the revocation events (`follow_revocations`), unless the service
    `writes_revocations` itself (auth, in the transactions that end access).

    `domain_errors` maps the service's refusals to the problems they are answered with
    (services/runtime/problems.py), so routes let them out instead of translating each.

    `metrics` are the service's own gauges read from its database, refreshed with the
    runtime's (outbox, parked records) every `METRICS_REFRESH_S` (services/runtime/metrics.py)."""
    revocations = _revocation_list(settings, consumers, writes_revocations=writes_revocations)
    broker_watch = BrokerWatch(lambda: app.state.broker)
    # Traces only when an OTLP endpoint is configured (services/runtime/tracing.py).
    tracer_provider = configure_tracing(settings.service_name) if wanted() else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, fmt=settings.log_format, level=settings.log_level)
        if isinstance(clock, ControlledClock):
            log.warning(
                "CONTROLLED CLOCK: business time is shifted by a file; test and dev stacks only",
                environment=settings.environment,
                clock_file=str(clock.path),
                offset_s=clock.offset().total_seconds(),
                now=clock.now().isoformat(),
            )
        pool = await create_pool(
            settings.database_url.get_secret_value(),
            min_size=settings.db_pool_min_size,
            max_size=settings.db_pool_max_size,
            command_timeout=settings.db_command_timeout_s,
        )
        await _migrate_or_refuse(pool, settings, migrations)
        for hook in on_startup:
            await hook(pool)
        # Read before the first request is served; then every REVOCATIONS_REFRESH_S.
        refresher = RevocationRefresher(pool, revocations, clock=clock)
        await refresher.read()
        broker = create_broker(settings)
        publish = _publisher(broker)
        runners = [
            ConsumerRunner(
                consumer,
                pool,
                publish,
                source=settings.service_name,
                clock=clock,
                max_attempts=settings.consumer_max_attempts,
                concurrency=settings.consumer_concurrency,
                parked_max_age_s=settings.parked_max_age_s,
            )
            for consumer in consumers
        ]
        for runner in runners:
            register_consumer(broker, runner, settings)
        # The producer first (the relay and dead letters need it); the consumer groups join in
        # the background, so the HTTP port opens and /readyz answers within a second or two
        # instead of waiting for the group's rebalance.
        await broker.connect()
        joining = asyncio.create_task(_start_consumers(broker, consumers), name="consumers-start")
        relay = OutboxRelay(
            pool,
            publish,
            poll_interval_s=settings.relay_poll_interval_s,
            batch_size=settings.relay_batch_size,
            max_backoff_s=settings.relay_max_backoff_s,
            retention_days=settings.outbox_retention_days,
        )
        relay.start()
        workers = [
            PeriodicWorker(
                "revocations",
                refresher.sweep,
                batch_size=1,
                interval_s=settings.revocations_refresh_s,
            ),
            *(make(pool) for make in background),
            *_parked_workers(runners, settings.parked_retry_interval_s),
            *_inbox_workers(pool, consumers, settings),
            _metrics_worker(pool, broker_watch, runners, metrics, settings.metrics_refresh_s),
        ]
        for worker in workers:
            worker.start()
        app.state.pool, app.state.broker, app.state.runners = pool, broker, runners
        log.info("service started", consumers=[c.name for c in consumers])
        try:
            yield
        finally:
            log.info("service stopping: finishing in-flight work")
            if not joining.done():
                joining.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await joining
            for worker in workers:
                await worker.stop()
            await relay.stop()
            await broker.stop()
            await pool.close()
            app.state.pool, app.state.broker, app.state.runners = None, None, []
            log.info("service stopped")
            flush_traces(tracer_provider)

    # FastAPI's own telemetry would add a second server span (and histograms) to every request
    # once a tracer provider is set, at ~165 us of CPU each; ours: services/runtime/tracing.py.
    app = FastAPI(title=title, lifespan=lifespan, telemetry=NO_FASTAPI_TELEMETRY)
    app.state.pool, app.state.broker, app.state.runners = None, None, []
    app.state.clock = clock
    app.state.token_verifier = _token_verifier(settings, clock, key_source, revocations)
    _install_http(
        app,
        settings,
        routers,
        reported_checks,
        domain_errors or {},
        broker_watch=broker_watch,
        tracer_provider=tracer_provider,
    )
    return app


async def _migrate_or_refuse(
    pool: asyncpg.Pool, settings: ServiceSettings, migrations: Path
) -> None:
    """Apply pending migrations (`MIGRATE_ON_START`), or refuse to start while any is pending."""
    migration_sets = {"runtime": RUNTIME_MIGRATIONS, settings.service_name: migrations}
    if settings.migrate_on_start:
        await migrate(pool, migration_sets)
    elif pending := await pending_migrations(pool, migration_sets):
        await pool.close()
        names = ", ".join(f"{m.scope}/{m.version:03d}_{m.name}" for m in pending)
        raise RuntimeError(f"migrations pending ({names}); run `ticketing migrate` first")


def _token_verifier(
    settings: ServiceSettings,
    clock: Clock,
    key_source: KeySource | None,
    revocations: RevocationList,
) -> TokenVerifier:
    return TokenVerifier(
        key_source or JwksKeySource(settings.auth_jwks_url),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        clock=clock,
        revocations=revocations,
    )


def _install_http(
    app: FastAPI,
    settings: ServiceSettings,
    routers: Sequence[APIRouter],
    reported_checks: Mapping[str, Callable[[], Awaitable[bool]]] | None,
    domain_errors: DomainErrors,
    *,
    broker_watch: BrokerWatch,
    tracer_provider: Any,
) -> None:
    """Middleware (correlation ids, body limits, metrics, traces), error answers (problem
    details, each listed in the OpenAPI of the operations that can give it), health and the
    routes."""
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(
        BodyLimitMiddleware,
        limits=BodyLimits(settings.body_max_bytes, settings.import_body_max_bytes),
    )
    app.add_middleware(HttpMetricsMiddleware)  # outside the others: counts 413s too
    install_error_handlers(app)
    answer_domain_errors(app, domain_errors)
    app.include_router(
        health_router(
            lambda: app.state.pool,
            broker_watch,
            lambda: app.state.runners,
            wedged_after_s=settings.consumer_wedged_after_s,
            reported=reported_checks,
        )
    )
    for router in routers:
        app.include_router(router)
    BodyLimits.check(app.routes)
    document_problems(app, skip_tags=("health",))
    if tracer_provider is not None:
        app.add_middleware(ServerSpanMiddleware)  # outermost: the span covers everything


def _revocation_list(
    settings: ServiceSettings, consumers: Sequence[EventConsumer], *, writes_revocations: bool
) -> RevocationList:
    """The list the service's token checks read; refused when nothing would ever fill it."""
    if not writes_revocations and not any(keeps_revocations(c) for c in consumers):
        raise ValueError(
            f"{settings.service_name}: no consumer applies the revocation events; "
            "call services.runtime.revocation.follow_revocations on one"
        )
    return RevocationList(stale_after_s=settings.revocations_stale_after_s)


def _metrics_worker(
    pool: asyncpg.Pool,
    broker_watch: BrokerWatch,
    runners: Sequence[ConsumerRunner],
    refreshes: Sequence[Refresh],
    interval_s: float,
) -> PeriodicWorker:
    """The periodic refresh of the gauges a scrape must not compute (metrics.py)."""
    refresher = MetricsRefresher(
        pool,
        [refresh_outbox, refresh_parked, *refreshes],
        local=[broker_watch.check, *(r.publish_lag for r in runners)],
    )
    return PeriodicWorker("metrics", refresher.refresh, batch_size=1, interval_s=interval_s)


def _parked_workers(runners: Sequence[ConsumerRunner], interval_s: float) -> list[PeriodicWorker]:
    """One worker per consumer that applies its parked records when their time comes."""
    return [
        PeriodicWorker(
            f"parked-{runner.consumer.name}",
            runner.retry_parked,
            batch_size=50,
            interval_s=interval_s,
        )
        for runner in runners
    ]


def _inbox_workers(
    pool: asyncpg.Pool, consumers: Sequence[EventConsumer], settings: ServiceSettings
) -> list[PeriodicWorker]:
    """The inbox pruner, where the service has consumers (services/runtime/inbox.py)."""
    if not consumers:
        return []

    async def prune() -> int:
        return await prune_inbox(pool, retention_days=settings.inbox_retention_days)

    return [
        PeriodicWorker(
            "inbox-prune", prune, batch_size=PRUNE_BATCH, interval_s=settings.inbox_prune_interval_s
        )
    ]


def _publisher(
    broker: KafkaBroker,
) -> Callable[[str, bytes | None, bytes, dict[str, str]], Awaitable[None]]:
    """publish(topic, key, value, headers) on the broker, returning once acknowledged."""

    async def publish(topic: str, key: bytes | None, value: bytes, headers: dict[str, str]) -> None:
        await broker.publish(
            value, topic, key=key, headers=headers, correlation_id=headers.get("correlation_id")
        )

    return publish


async def _start_consumers(broker: KafkaBroker, consumers: Sequence[EventConsumer]) -> None:
    """Join the consumer groups (aiokafka waits for the partitions' assignment); retried with
    growing waits while the broker cannot be reached."""
    started, attempt = time.monotonic(), 0
    while True:
        try:
            await broker.start()
        except Exception as error:
            attempt += 1
            wait = min(10.0, 0.5 * 2**attempt)
            log.warning("consumers could not start; retrying", error=repr(error), retry_in_s=wait)
            await asyncio.sleep(wait)
            continue
        log.info(
            "consumers running",
            consumers=[c.name for c in consumers],
            joined_after_s=round(time.monotonic() - started, 2),
        )
        return


class BackgroundWorker(Protocol):
    """A loop a service runs beside its consumers (e.g. notify's SMTP sender)."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


async def pool_of(request: Request) -> asyncpg.Pool:
    """FastAPI dependency: the service's connection pool. (Dependencies are `async def` even
    when they do not await: FastAPI runs a plain `def` in a worker thread, a hop per request.)"""
    pool: asyncpg.Pool | None = request.app.state.pool
    if pool is None:
        raise HTTPException(
            503, "The service is starting or stopping; try again shortly.", {"Retry-After": "2"}
        )
    return pool


Pool = Annotated[asyncpg.Pool, Depends(pool_of)]


async def clock_of(request: Request) -> Clock:
    """FastAPI dependency: the service's clock."""
    clock: Clock = request.app.state.clock
    return clock


CurrentClock = Annotated[Clock, Depends(clock_of)]
