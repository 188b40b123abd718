"""Idempotent, dead-lettering event consumers on top of FastStream.

Each service declares an `EventConsumer` (its group id, topics, and one handler per event type).
`register_consumer` turns it into a FastStream batch subscriber that:

- commits offsets only after the whole batch was handled (ack policy NACK_ON_ERROR: on a failure
  the partitions are rewound and the batch is read again; a handler cancelled at shutdown commits
  nothing), so a commit costs one round trip per batch, never per message, and never runs ahead of
  the work;
- runs each handler in its own transaction together with the (consumer, event_id) inbox row, so a
  redelivered event is recognised and skipped;
- sends poison messages to the dead-letter topic with the reason and origin in headers: at once
  for undecodable bytes, unknown types, unsupported versions and invalid payloads; after a bounded
  number of attempts for handler failures. The partition keeps flowing;
- treats an unreachable database as "retry later" (never as poison): it backs off and re-reads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import structlog
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from pydantic import ValidationError

from contracts.common import EventModel
from contracts.envelope import EventEnvelope
from contracts.registry import UnknownEventTypeError, UnsupportedEventVersionError, model_for
from contracts.topics import DEAD_LETTER
from services.runtime.clock import Clock
from services.runtime.db import UNAVAILABLE_ERRORS, Connection
from services.runtime.failpoints import failpoint
from services.runtime.outbox import emit
from services.runtime.settings import ServiceSettings

log = structlog.get_logger(__name__)

E = TypeVar("E", bound=EventModel)


@dataclass
class HandlerContext:
    """What a handler gets besides the payload: its transaction, the event it handles, and the
    service's clock."""

    conn: Connection
    envelope: EventEnvelope
    source: str
    clock: Clock

    async def emit(
        self,
        payload: EventModel,
        *,
        aggregate_id: str | uuid.UUID,
        aggregate_version: int,
        org_id: uuid.UUID | None,
    ) -> EventEnvelope:
        """Store a follow-up event in this transaction's outbox, caused by the handled event."""
        return await emit(
            self.conn,
            payload,
            source=self.source,
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            org_id=org_id,
            correlation_id=self.envelope.correlation_id,
            causation_id=self.envelope.event_id,
            occurred_at=self.clock.now(),
        )


Handler = Callable[[HandlerContext, Any], Awaitable[None]]


@dataclass
class EventConsumer:
    """A consumer group: the topics it reads and the handler of each event type it cares about.

    Events of other (known) types on those topics are skipped; they belong to other consumers.
    """

    name: str
    topics: Sequence[str]
    handlers: dict[str, Handler] = field(default_factory=dict)

    def handles(
        self, model: type[E]
    ) -> Callable[[Callable[[HandlerContext, E], Awaitable[None]]], Handler]:
        """Register the decorated function as the handler of `model`'s event type."""

        def register(func: Callable[[HandlerContext, E], Awaitable[None]]) -> Handler:
            self.handlers[model.EVENT_TYPE] = func
            return func

        return register


class DatabaseUnavailableError(RuntimeError):
    """The database could not be reached; the batch is read again later."""


DeadLetterPublish = Callable[[str, bytes | None, bytes, dict[str, str]], Awaitable[None]]


class ConsumerRunner:
    """Handles batches of records for one `EventConsumer`."""

    def __init__(
        self,
        consumer: EventConsumer,
        pool: asyncpg.Pool,
        publish: DeadLetterPublish,
        *,
        source: str,
        clock: Clock,
        max_attempts: int = 5,
        retry_base_delay_s: float = 0.1,
    ) -> None:
        self.consumer = consumer
        self._pool = pool
        self._publish = publish
        self._source = source
        self._clock = clock
        self._max_attempts = max_attempts
        self._retry_base_delay_s = retry_base_delay_s
        self._unavailable_streak = 0

    async def handle_batch(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Handle records in order; raise only when the batch must be read again."""
        try:
            for record in records:
                structlog.contextvars.clear_contextvars()
                structlog.contextvars.bind_contextvars(
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    consumer=self.consumer.name,
                )
                try:
                    await self._handle_record(record)
                except UNAVAILABLE_ERRORS as error:
                    self._unavailable_streak += 1
                    delay = min(5.0, 0.25 * 2 ** min(self._unavailable_streak, 5))
                    log.warning(
                        "database unavailable, will re-read", error=repr(error), retry_in_s=delay
                    )
                    await asyncio.sleep(delay)
                    raise DatabaseUnavailableError(repr(error)) from error
            self._unavailable_streak = 0
        finally:
            structlog.contextvars.clear_contextvars()

    async def _handle_record(self, record: ConsumerRecord[Any, Any]) -> None:
        headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
        if "correlation_id" in headers:
            structlog.contextvars.bind_contextvars(correlation_id=headers["correlation_id"])
        try:
            envelope = EventEnvelope.model_validate_json(record.value or b"")
        except ValidationError as error:
            reason = "undecodable" if _is_json_error(error) else "invalid-envelope"
            await self._dead_letter(record, reason, error, attempts=0)
            return
        structlog.contextvars.bind_contextvars(
            event_id=str(envelope.event_id),
            event_type=envelope.event_type,
            correlation_id=envelope.correlation_id,
        )
        try:
            model = model_for(envelope.event_type, envelope.event_version)
        except UnknownEventTypeError as error:
            await self._dead_letter(record, "unknown-type", error, attempts=0)
            return
        except UnsupportedEventVersionError as error:
            await self._dead_letter(record, "unsupported-version", error, attempts=0)
            return
        try:
            payload = model.model_validate(envelope.payload)
        except ValidationError as error:
            await self._dead_letter(record, "invalid-payload", error, attempts=0)
            return
        if ticket_id := getattr(payload, "ticket_id", None):
            structlog.contextvars.bind_contextvars(ticket_id=str(ticket_id))
        handler = self.consumer.handlers.get(envelope.event_type)
        if handler is None:
            return
        await self._run_with_retries(record, envelope, payload, handler)

    async def _run_with_retries(
        self,
        record: ConsumerRecord[Any, Any],
        envelope: EventEnvelope,
        payload: EventModel,
        handler: Handler,
    ) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                applied = await self._apply_once(envelope, payload, handler)
            except UNAVAILABLE_ERRORS:
                raise
            except Exception as error:
                if attempt == self._max_attempts:
                    log.error("handler failed, giving up", attempts=attempt, exc_info=error)
                    await self._dead_letter(record, "handler-failed", error, attempts=attempt)
                    return
                log.warning("handler failed, retrying", attempt=attempt, error=repr(error))
                await asyncio.sleep(self._retry_base_delay_s * 2 ** (attempt - 1))
                continue
            if applied:
                failpoint("consumer.after_commit", match=(envelope.key, envelope.correlation_id))
                log.info("event handled")
            else:
                log.info("duplicate event skipped")
            return

    async def _apply_once(
        self, envelope: EventEnvelope, payload: EventModel, handler: Handler
    ) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            first_time = await conn.fetchval(
                """INSERT INTO inbox (consumer, event_id, event_type) VALUES ($1, $2, $3)
                   ON CONFLICT DO NOTHING RETURNING true""",
                self.consumer.name,
                envelope.event_id,
                envelope.event_type,
            )
            if not first_time:
                return False
            await handler(HandlerContext(conn, envelope, self._source, self._clock), payload)
            failpoint("consumer.inside_transaction", match=(envelope.key, envelope.correlation_id))
        return True

    async def _dead_letter(
        self, record: ConsumerRecord[Any, Any], reason: str, error: BaseException, *, attempts: int
    ) -> None:
        original = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
        headers = {
            **original,
            "dlq_reason": reason,
            "dlq_error": _describe(error)[:1000],
            "dlq_consumer": self.consumer.name,
            "dlq_attempts": str(attempts),
            "dlq_failed_at": self._clock.now().isoformat(),
            "dlq_original_topic": record.topic,
            "dlq_original_partition": str(record.partition),
            "dlq_original_offset": str(record.offset),
        }
        await self._publish(DEAD_LETTER, record.key, record.value or b"", headers)
        log.error(
            "message sent to the dead-letter topic", reason=reason, error=_describe(error)[:300]
        )


def _describe(error: BaseException) -> str:
    """The error in words, without the offending input values (a payload may carry secrets)."""
    if isinstance(error, ValidationError):
        problems = error.errors(include_input=False, include_url=False)
        return f"{error.title}: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in problems
        )
    return str(error)


def _is_json_error(error: ValidationError) -> bool:
    return any(e["type"] == "json_invalid" for e in error.errors())


def _safe_record(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    """The record with header values FastStream can decode strictly: invalid UTF-8 replaced, a
    null value made empty. Without this, one bad header fails the batch's parsing before any
    handler runs, and FastStream skips the batch instead of rewinding it."""
    headers = [
        (key, (value or b"").decode(errors="replace").encode())
        for key, value in record.headers or ()
    ]
    return dataclasses.replace(record, headers=headers)


async def _lenient_parser(
    records: tuple[ConsumerRecord[Any, Any], ...],
    original: Callable[[tuple[ConsumerRecord[Any, Any], ...]], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    return await original(tuple(_safe_record(r) for r in records))


async def _raw_decoder(message: StreamMessage[Any]) -> Any:
    """No decoding by FastStream (a body that does not match its content-type header would fail
    the whole batch again and again); `ConsumerRunner` decodes, and dead-letters what it cannot."""
    return message.body


def register_consumer(
    broker: KafkaBroker,
    runner: ConsumerRunner,
    settings: ServiceSettings,
) -> None:
    """Subscribe `runner` on `broker` with at-least-once semantics (see the module docstring)."""

    async def on_batch(message: KafkaMessage) -> None:
        records = message.raw_message
        batch = records if isinstance(records, tuple) else (records,)
        await runner.handle_batch(batch)

    broker.subscriber(
        *runner.consumer.topics,
        group_id=runner.consumer.name,
        batch=True,
        max_records=settings.consumer_batch_size,
        batch_timeout_ms=settings.consumer_batch_timeout_ms,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        max_poll_interval_ms=300_000,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=max(1000, settings.consumer_session_timeout_ms // 3),
        rebalance_timeout_ms=settings.consumer_rebalance_timeout_ms,
        title=f"{runner.consumer.name}:{','.join(runner.consumer.topics)}",
        parser=_lenient_parser,
        decoder=_raw_decoder,
    )(on_batch)
