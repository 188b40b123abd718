"""Prometheus metrics of a service (docs/metrics.md lists them, with what each is for).

Counters and histograms are counted where things happen (HTTP middleware, consumer, relay,
sender, sign-in); gauges that need the database are read by one periodic refresh
(`MetricsRefresher`), never by a scrape, so a scrape costs no query and a slow database does
not make `/metrics` slow. Label values come from fixed sets (route templates, event types of
the registry, consumer and topic names, outcome words), never from a request or a payload.

The metric objects live in prometheus-client's default registry, one process per service.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import asyncpg
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = structlog.get_logger(__name__)

NAMESPACE = "ticketing"

HTTP_REQUESTS = Counter(
    "http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
    namespace=NAMESPACE,
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template and method.",
    ["route", "method"],
    namespace=NAMESPACE,
)
CONSUMER_EVENTS = Counter(
    "consumer_events",
    "Records a consumer took, by event type and outcome: handled, duplicate (already handled, "
    "skipped), skipped (a type this consumer does not handle), parked, failed (one failed "
    "attempt of a handler), dead_lettered.",
    ["consumer", "event_type", "outcome"],
    namespace=NAMESPACE,
)
CONSUMER_HANDLER_DURATION = Histogram(
    "consumer_handler_duration_seconds",
    "Time of one handler call (a batch handler's call counts once, under its first event type).",
    ["consumer", "event_type"],
    namespace=NAMESPACE,
)
CONSUMER_BATCH_DURATION = Histogram(
    "consumer_batch_duration_seconds",
    "Time to handle one batch of records, decoding to commit-ready.",
    ["consumer"],
    namespace=NAMESPACE,
)
CONSUMER_LAG = Gauge(
    "consumer_lag_records",
    "Records of a partition not yet handled by this replica: the partition's high watermark as "
    "the consumer last fetched it, minus the next offset it will handle.",
    ["consumer", "topic", "partition"],
    namespace=NAMESPACE,
)
CONSUMER_BATCH_AGE = Gauge(
    "consumer_batch_in_progress_seconds",
    "How long the batch a consumer is handling has been running (0 when idle).",
    ["consumer"],
    namespace=NAMESPACE,
)
PARKED_RECORDS = Gauge(
    "consumer_parked_records",
    "Records parked until what they depend on arrives (services/runtime/parking.py).",
    namespace=NAMESPACE,
)
OUTBOX_WAITING = Gauge(
    "outbox_waiting_events",
    "Outbox rows not yet published to the broker.",
    namespace=NAMESPACE,
)
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_waiting_age_seconds",
    "Age of the oldest outbox row not yet published (0 when none waits).",
    namespace=NAMESPACE,
)
OUTBOX_PUBLISHED = Counter(
    "outbox_published_events",
    "Outbox rows the relay published (acknowledged by the broker), by topic.",
    ["topic"],
    namespace=NAMESPACE,
)
OUTBOX_PUBLISH_FAILURES = Counter(
    "outbox_publish_failures",
    "Failed attempts to publish an outbox row, by topic (the row is retried).",
    ["topic"],
    namespace=NAMESPACE,
)
BROKER_UP = Gauge(
    "broker_up",
    "1 when the broker answered the service's last check, else 0.",
    namespace=NAMESPACE,
)
DB_POOL_IN_USE = Gauge(
    "db_pool_connections_in_use",
    "Database connections of the pool lent out right now.",
    namespace=NAMESPACE,
)
DB_POOL_MAX = Gauge(
    "db_pool_connections_max",
    "The most connections the pool opens.",
    namespace=NAMESPACE,
)
REFRESH_FAILURES = Counter(
    "metrics_refresh_failures",
    "Refreshes of the database-read gauges that failed (the gauges keep their last values).",
    namespace=NAMESPACE,
)

UNMATCHED_ROUTE = "unmatched"


def render() -> Response:
    """The exposition of every metric of this process."""
    return Response(_generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


async def metrics_endpoint(_: Request) -> Response:
    """`GET /metrics`."""
    return render()


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/tickets/{ticket_id}`), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class ResponseStatus:
    """An ASGI `send` that notes the response's status on the way (500 until one is sent): for
    the middlewares that report a request after it ran (this module's, tracing.py's)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 500

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self._send(message)


class HttpMetricsMiddleware:
    """Count and time every HTTP request by route template, method and status."""

    def __init__(self, app: ASGIApp, *, route_of: Callable[[Scope], str] = route_template) -> None:
        self.app = app
        self._route_of = route_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        response = ResponseStatus(send)
        try:
            await self.app(scope, receive, response.send)
        finally:
            route = self._route_of(scope)
            method = _method(scope.get("method", ""))
            HTTP_REQUESTS.labels(route, method, str(response.status)).inc()
            HTTP_DURATION.labels(route, method).observe(time.perf_counter() - started)


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(method: str) -> str:
    """The method, or OTHER for anything outside HTTP's usual ones (a label of fixed values)."""
    return method if method in _METHODS else "OTHER"


Refresh = Callable[[asyncpg.Pool], Awaitable[None]]
"""Reads some gauges from the service's database (one query, or a few)."""


async def refresh_outbox(pool: asyncpg.Pool) -> None:
    """Outbox rows waiting and the age of the oldest (the partial index on unpublished rows)."""
    async with pool.acquire(timeout=2) as conn:
        row = await conn.fetchrow(
            """SELECT count(*) AS waiting,
                      coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest_s
                 FROM outbox WHERE published_at IS NULL""",
            timeout=5,
        )
    assert row is not None
    OUTBOX_WAITING.set(row["waiting"])
    OUTBOX_OLDEST_AGE.set(float(row["oldest_s"]))


async def refresh_parked(pool: asyncpg.Pool) -> None:
    """Parked records of all the service's consumers."""
    async with pool.acquire(timeout=2) as conn:
        PARKED_RECORDS.set(await conn.fetchval("SELECT count(*) FROM parked", timeout=5))


@dataclass
class MetricsRefresher:
    """Reads the gauges that need the database, the broker or the consumers, every
    `interval_s` (run by a `PeriodicWorker`); one refresh per interval whatever the scrapers."""

    pool: asyncpg.Pool
    refreshes: Sequence[Refresh]
    local: Sequence[Callable[[], Awaitable[None]]] = field(default_factory=list)
    timeout_s: float = 5.0

    async def refresh(self) -> int:
        """Refresh every gauge; a failing part is counted and logged, the others go on."""
        DB_POOL_IN_USE.set(self.pool.get_size() - self.pool.get_idle_size())
        DB_POOL_MAX.set(self.pool.get_max_size())
        for local in self.local:
            await self._guarded(local())
        for refresh in self.refreshes:
            await self._guarded(refresh(self.pool))
        return 0

    async def _guarded(self, step: Awaitable[None]) -> None:
        try:
            await asyncio.wait_for(step, timeout=self.timeout_s)
        except Exception as error:
            REFRESH_FAILURES.inc()
            log.debug("a metrics refresh failed", error=repr(error))
