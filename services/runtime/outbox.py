"""Transactional outbox: write events in the business transaction; a relay publishes them.

The relay sweeps by status (`published_at IS NULL`) with `FOR UPDATE SKIP LOCKED`, publishes one
key's rows strictly one after another (a key stops at its first failure), marks a row published only
after the broker acknowledged it, and retries forever with growing waits. A LISTEN on the `outbox`
channel (notified by a trigger at commit) wakes it early; the periodic sweep never depends on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy
from opentelemetry.trace import SpanKind

from contracts.common import EventModel
from contracts.envelope import EventEnvelope, new_envelope
from contracts.registry import TOPIC_OF_EVENT
from services.runtime.context import current_correlation_id
from services.runtime.db import Connection
from services.runtime.metrics import OUTBOX_PUBLISH_FAILURES, OUTBOX_PUBLISHED
from services.runtime.tracing import TRACEPARENT, span, traceparent_for

log = structlog.get_logger(__name__)

Publish = Callable[[str, bytes, bytes, dict[str, str]], Awaitable[None]]
"""publish(topic, key, value, headers): returns once the broker acknowledged, raises otherwise."""


class OutsideTransactionError(RuntimeError):
    """An outbox row must be written in the same transaction as the state change it reports."""


async def enqueue(conn: Connection, envelope: EventEnvelope) -> None:
    """Store an event for publishing; must run inside the state change's transaction."""
    await enqueue_many(conn, [envelope])


async def enqueue_many(conn: Connection, envelopes: Sequence[EventEnvelope]) -> None:
    """Store events for publishing in one statement, in the given order (the relay publishes
    one key's rows in `id` order); must run inside the state change's transaction."""
    if not conn.is_in_transaction():
        raise OutsideTransactionError("outbox rows are written inside a transaction")
    if not envelopes:
        return
    await conn.execute(
        """INSERT INTO outbox (event_id, event_type, topic, message_key, envelope, traceparent)
           SELECT e.id, e.type, e.topic, e.key, e.envelope::jsonb, e.traceparent
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
                  WITH ORDINALITY AS e(id, type, topic, key, envelope, traceparent, n)
            ORDER BY e.n""",
        [e.event_id for e in envelopes],
        [e.event_type for e in envelopes],
        [TOPIC_OF_EVENT[e.event_type] for e in envelopes],
        [e.key for e in envelopes],
        [e.model_dump_json() for e in envelopes],
        # The trace the row continues: the handled event's span, or the request's
        # (services/runtime/tracing.py); NULL while tracing is off.
        [traceparent_for(e.causation_id) for e in envelopes],
    )


envelope_for = new_envelope
"""A payload wrapped in its envelope (contracts/envelope.py); `occurred_at` is the moment of the
state change, from the service's clock."""


async def emit(
    conn: Connection,
    payload: EventModel,
    *,
    source: str,
    aggregate_id: str | uuid.UUID,
    aggregate_version: int,
    org_id: uuid.UUID | None,
    occurred_at: datetime,
    correlation_id: str | None = None,
    causation_id: uuid.UUID | None = None,
) -> EventEnvelope:
    """Wrap a payload in an envelope and store it in the outbox; return the envelope. The
    correlation id is, unless given, the one of the request or message being handled."""
    envelope = envelope_for(
        payload,
        source=source,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
        org_id=org_id,
        correlation_id=current_correlation_id() if correlation_id is None else correlation_id,
        causation_id=causation_id,
        occurred_at=occurred_at,
    )
    await enqueue(conn, envelope)
    return envelope


def headers_of(envelope: dict[str, Any]) -> dict[str, str]:
    """Kafka headers that let tools route and trace without decoding the value."""
    return {
        "event_id": str(envelope["event_id"]),
        "event_type": str(envelope["event_type"]),
        "event_version": str(envelope["event_version"]),
        "source": str(envelope["source"]),
        "correlation_id": str(envelope["correlation_id"]),
    }


class _Row(Protocol):
    def __getitem__(self, key: str) -> Any: ...


@dataclass(frozen=True)
class SweepResult:
    published: int
    failed: int


class OutboxRelay:
    """Publishes unpublished outbox rows until stopped."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        publish: Publish,
        *,
        poll_interval_s: float = 0.1,
        batch_size: int = 200,
        max_backoff_s: float = 10.0,
        retention_days: int = 7,
    ) -> None:
        self._pool = pool
        self._publish = publish
        self._poll_interval_s = poll_interval_s
        self._batch_size = batch_size
        self._max_backoff_s = max_backoff_s
        self._retention_days = retention_days
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._listener: PoolConnectionProxy[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_cleanup = 0.0

    def start(self) -> None:
        """Run the relay in a background task."""
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        """Let the sweep in progress finish, then stop."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        await self._drop_listener()

    async def run(self) -> None:
        """Sweep, wait, repeat; back off while sweeps fail."""
        failures = 0
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                await self._ensure_listener()
                result = await self.sweep_once()
                await self._cleanup_if_due()
            except Exception as error:
                failures += 1
                log.warning("outbox sweep failed", error=repr(error), consecutive=failures)
                await self._sleep(self._backoff(failures))
                continue
            if result.failed:
                failures += 1
                await self._sleep(self._backoff(failures))
            elif result.published >= self._batch_size:
                failures = 0
            else:
                failures = 0
                await self._sleep(self._poll_interval_s)

    def _backoff(self, failures: int) -> float:
        return float(min(self._max_backoff_s, 0.2 * 2 ** min(failures, 10)))

    async def _sleep(self, seconds: float) -> None:
        """Wait `seconds`, or less when woken by a notification or asked to stop."""
        waits = [
            asyncio.ensure_future(self._stopping.wait()),
            asyncio.ensure_future(self._wake.wait()),
        ]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()

    async def _ensure_listener(self) -> None:
        """Keep a LISTEN connection; after a database restart, open a new one."""
        if self._listener is not None:
            try:
                if not self._listener.is_closed():
                    return
            except asyncpg.InterfaceError:
                pass  # the pool took the broken connection back
        await self._drop_listener()
        try:
            conn = await self._pool.acquire(timeout=2)
        except Exception:
            return  # the sweep still runs; try again next round
        try:
            await conn.add_listener("outbox", self._notified)
        except Exception:
            await self._pool.release(conn)
            return
        self._listener = conn

    async def _drop_listener(self) -> None:
        conn, self._listener = self._listener, None
        if conn is not None:
            with contextlib.suppress(Exception):
                # The pool does not reset connections (db.create_pool): UNLISTEN here.
                await conn.remove_listener("outbox", self._notified)
            with contextlib.suppress(Exception):
                await self._pool.release(conn, timeout=2)

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def sweep_once(self) -> SweepResult:
        """Publish one batch of unpublished rows; only one relay per database sweeps at a time,
        so that one key's events are never published by two relays at once."""
        async with self._pool.acquire() as conn, conn.transaction():
            if not await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock(hashtext('ticketing.outbox-relay'))"
            ):
                return SweepResult(0, 0)
            rows = await conn.fetch(
                """SELECT id, topic, message_key, envelope::text AS envelope, traceparent
                     FROM outbox
                    WHERE published_at IS NULL
                    ORDER BY id
                    LIMIT $1
                      FOR UPDATE SKIP LOCKED""",
                self._batch_size,
            )
            if not rows:
                return SweepResult(0, 0)
            chains: dict[str, list[_Row]] = {}
            for row in rows:
                chains.setdefault(row["message_key"], []).append(row)
            outcomes = await asyncio.gather(*(self._publish_chain(c) for c in chains.values()))
            published = [row_id for ok, _ in outcomes for row_id in ok]
            failures = [failure for _, failure in outcomes if failure is not None]
            if published:
                await conn.execute(
                    "UPDATE outbox SET published_at = now(), attempts = attempts + 1"
                    " WHERE id = ANY($1::bigint[])",
                    published,
                )
            for row_id, error in failures:
                await conn.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
                    row_id,
                    error[:2000],
                )
        if failures:
            log.warning(
                "outbox rows not published, will retry",
                published=len(published),
                failed_keys=len(failures),
                error=failures[0][1],
            )
        else:
            log.debug("outbox rows published", published=len(published))
        return SweepResult(len(published), len(failures))

    async def _publish_chain(self, rows: list[_Row]) -> tuple[list[int], tuple[int, str] | None]:
        done: list[int] = []
        for row in rows:
            envelope = json.loads(row["envelope"])
            headers = headers_of(envelope)
            if row["traceparent"]:
                headers[TRACEPARENT] = row["traceparent"]
            try:
                with span(
                    f"publish {row['topic']}",
                    row["traceparent"],
                    kind=SpanKind.PRODUCER,
                    **{"messaging.system": "kafka", "messaging.destination.name": row["topic"]},
                ):
                    await self._publish(
                        row["topic"], row["message_key"].encode(), row["envelope"].encode(), headers
                    )
            except Exception as error:
                OUTBOX_PUBLISH_FAILURES.labels(row["topic"]).inc()
                return done, (row["id"], repr(error))
            OUTBOX_PUBLISHED.labels(row["topic"]).inc()
            done.append(row["id"])
        return done, None

    async def _cleanup_if_due(self) -> None:
        now = time.monotonic()
        if now - self._last_cleanup < 600:
            return
        self._last_cleanup = now
        deleted = await self._pool.execute(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(days => $1)",
            self._retention_days,
        )
        log.debug("published outbox rows cleaned up", result=deleted)
