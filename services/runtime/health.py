"""Liveness, readiness and the metrics endpoint (deploy/README.md, "Probes").

- `/readyz` (the readiness probe): the pod can serve its HTTP API, that is, its database answers.
  The broker is reported but does not decide it: during a broker outage the API goes on
  accepting work into the outbox, so taking every pod out of its Service would turn a Kafka
  outage into an API outage (docs/decisions.md, "Readiness, metrics and traces").
- `/healthz` (the liveness probe): the process answers and none of its consumers is wedged (a
  batch in progress far longer than any batch may take) or stopped (its consume loop ended while
  the process runs on). Neither the database nor the broker
  decides it: a restart cures neither, and restarting every pod at once during an outage only
  adds a cold start to it.
- `/metrics`: the Prometheus exposition (services/runtime/metrics.py).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import asyncpg
import structlog
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from faststream.kafka import KafkaBroker

from services.runtime.consumer import ConsumerRunner
from services.runtime.db import UNAVAILABLE_ERRORS
from services.runtime.metrics import BROKER_UP, CONSUMER_BATCH_AGE, render
from services.runtime.parking import count_parked

log = structlog.get_logger(__name__)

DATABASE_CHECK_ERRORS: tuple[type[Exception], ...] = (*UNAVAILABLE_ERRORS, asyncpg.PostgresError)


@dataclass
class BrokerWatch:
    """The broker's state as the last periodic check saw it; probes read this, never the
    broker, so a frozen broker cannot make a probe time out."""

    broker_of: Callable[[], KafkaBroker | None]
    up: bool | None = None
    checked_at: float | None = None

    async def check(self, *, timeout_s: float = 2.0) -> None:
        """Ping the broker once and remember the answer (also as `ticketing_broker_up`)."""
        broker = self.broker_of()
        up = False
        if broker is not None:
            try:
                up = bool(await broker.ping(timeout=timeout_s))
            except Exception:
                up = False
        if up != self.up and self.up is not None:
            log.warning("broker reachable" if up else "broker unreachable")
        self.up, self.checked_at = up, time.monotonic()
        BROKER_UP.set(1 if up else 0)

    def word(self) -> str:
        return "unknown" if self.up is None else _word(self.up)


def wedged_consumers(
    runners: Sequence[ConsumerRunner], *, now: float, wedged_after_s: float
) -> dict[str, float]:
    """Consumers whose batch in progress has run longer than `wedged_after_s`, with its age.
    A batch waiting for an unreachable database gives up within seconds and is read again, so
    only a handler that hangs (a lock never released, a call without a timeout) gets here."""
    ages = {r.consumer.name: r.batch_age_s(now) for r in runners}
    return {name: age for name, age in ages.items() if age > wedged_after_s}


def publish_batch_ages(runners: Sequence[ConsumerRunner]) -> None:
    """`ticketing_consumer_batch_in_progress_seconds` for every consumer."""
    now = time.monotonic()
    for runner in runners:
        CONSUMER_BATCH_AGE.labels(runner.consumer.name).set(runner.batch_age_s(now))


def health_router(
    pool_of: Callable[[], asyncpg.Pool | None],
    broker: BrokerWatch,
    runners_of: Callable[[], Sequence[ConsumerRunner]],
    *,
    wedged_after_s: float,
    reported: Mapping[str, Callable[[], Awaitable[bool]]] | None = None,
) -> APIRouter:
    """`/healthz`, `/readyz` and `/metrics` (see the module docstring). `reported` checks are
    shown in `/readyz` without deciding it: a dependency only some routes need (the content
    service's file storage) must not take the others out of service."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    async def healthz() -> JSONResponse:
        runners = runners_of()
        wedged = wedged_consumers(runners, now=time.monotonic(), wedged_after_s=wedged_after_s)
        stopped = [r.consumer.name for r in runners if r.loop_stopped()]
        states = {r.consumer.name: "ok" for r in runners}
        states |= {name: "wedged" for name in wedged} | {name: "stopped" for name in stopped}
        failing = bool(wedged or stopped)
        body: dict[str, object] = {
            "status": ("stopped" if stopped else "wedged") if failing else "ok",
            "broker": broker.word(),
            "consumers": states,
        }
        if failing:
            log.error(
                "consumer wedged or stopped; failing the liveness probe",
                wedged_s=wedged,
                stopped=stopped,
            )
        return JSONResponse(body, status_code=503 if failing else 200)

    @router.get("/readyz")
    async def readyz() -> JSONResponse:
        database = await _database_ok(pool_of())
        body: dict[str, object] = {
            "status": "ready" if database else "not ready",
            "database": _word(database),
            "broker": broker.word(),
        }
        for name, check in (reported or {}).items():
            body[name] = _word(await check())
        if database:
            body["parked_records"] = await _parked(pool_of())
        return JSONResponse(body, status_code=200 if database else 503)

    @router.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        publish_batch_ages(runners_of())
        return render()

    return router


def _word(ok: bool) -> str:
    return "ok" if ok else "unavailable"


async def _database_ok(pool: asyncpg.Pool | None) -> bool:
    if pool is None:
        return False
    try:
        async with pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1", timeout=2)
    except DATABASE_CHECK_ERRORS:
        return False
    return True


async def _parked(pool: asyncpg.Pool | None) -> int | None:
    """Records waiting for what they depend on (services/runtime/parking.py)."""
    if pool is None:
        return None
    try:
        async with pool.acquire(timeout=2) as conn:
            return await count_parked(conn)
    except DATABASE_CHECK_ERRORS:
        return None
