"""Idempotent, dead-lettering event consumers on top of FastStream.

Each service declares an `EventConsumer` (its group id, topics, and one handler per event type).
`register_consumer` turns it into a FastStream batch subscriber that:

- commits offsets only after the whole batch was handled (ack policy NACK_ON_ERROR: on a failure
  the partitions are rewound and the batch is read again; a handler cancelled at shutdown commits
  nothing), so a commit costs one round trip per batch, never per message, and never runs ahead of
  the work;
- applies the records a handler takes in groups by message key (one key's records in one group, in
  offset order; groups side by side on their own connections), each group in one transaction
  together with its (consumer, event_id) inbox rows, so a redelivered event is recognised and
  skipped; when anything in a group fails, the group is applied again one record per
  transaction, so only the failing record is retried;
- hands a batch handler (`EventConsumer.handles_batch`) each run of consecutive records it takes
  in one call, so it can read and write set-based (one statement for the run, not one per
  record), and writes the events the handlers emitted to the outbox in one statement before the
  commit;
- sends poison messages to the dead-letter topic with the reason and origin in headers: at once
  for undecodable bytes, unknown types, unsupported versions and invalid payloads; after a bounded
  number of attempts for handler failures. The partition keeps flowing;
- treats an unreachable database as "retry later" (never as poison): it backs off and re-reads.

Longer than the other modules (~780 lines) on purpose: the order of the steps above (apply,
record in the inbox, commit, then the offset; retry, park or dead-letter) is the delivery
guarantee, and it reads as one piece. What is apart already: parking (parking.py), the
revocation handlers (revocation.py), the metrics (metrics.py), the traces (tracing.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import logging
import time
import typing
import uuid
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

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
from contracts.registry import (
    TOPIC_OF_EVENT,
    UnknownEventTypeError,
    UnsupportedEventVersionError,
    model_for,
)
from contracts.topics import DEAD_LETTER
from services.runtime import parking, tracing
from services.runtime.clock import Clock
from services.runtime.db import UNAVAILABLE_ERRORS, Connection
from services.runtime.failpoints import failpoint
from services.runtime.metrics import (
    CONSUMER_BATCH_DURATION,
    CONSUMER_EVENTS,
    CONSUMER_HANDLER_DURATION,
    CONSUMER_LAG,
)
from services.runtime.outbox import enqueue_many, envelope_for
from services.runtime.parking import NotYetKnownError
from services.runtime.settings import ServiceSettings
from services.runtime.tracing import traceparent_of

log = structlog.get_logger(__name__)

BEHIND_PARKED = "behind a parked record of the same key"
"""Why a record waits although it depends on nothing missing: its key keeps its order."""

E = TypeVar("E", bound=EventModel)


@dataclass
class HandlerContext:
    """What a handler gets besides the payload: its transaction, the event it handles, and the
    service's clock. Events it emits are written to the outbox in one statement when the
    handlers of the transaction are done (still inside it)."""

    conn: Connection
    envelope: EventEnvelope
    source: str
    clock: Clock
    outgoing: list[EventEnvelope] = field(default_factory=list)

    async def emit(
        self,
        payload: EventModel,
        *,
        aggregate_id: str | uuid.UUID,
        aggregate_version: int,
        org_id: uuid.UUID | None,
    ) -> EventEnvelope:
        """A follow-up event for this transaction's outbox, caused by the handled event."""
        envelope = envelope_for(
            payload,
            source=self.source,
            aggregate_id=aggregate_id,
            aggregate_version=aggregate_version,
            org_id=org_id,
            correlation_id=self.envelope.correlation_id,
            causation_id=self.envelope.event_id,
            occurred_at=self.clock.now(),
        )
        self.outgoing.append(envelope)
        return envelope


@dataclass(frozen=True)
class Delivery(Generic[E]):
    """One event handed to a batch handler, with its own context (envelope, shared transaction)."""

    ctx: HandlerContext
    event: E


Handler = Callable[[HandlerContext, Any], Awaitable[None]]
BatchHandler = Callable[[Connection, Sequence[Delivery[Any]]], Awaitable[None]]
"""Applies a run of new events in one transaction, set-based: the records of a group that follow
one another and share this handler, in offset order (a single record when a group is retried
one by one). It must give the same result as applying them one after another."""


@dataclass
class EventConsumer:
    """A consumer group: the topics it reads and the handler of each event type it cares about.

    Events of other (known) types on those topics are skipped; they belong to other consumers.
    """

    name: str
    topics: Sequence[str]
    handlers: dict[str, Handler] = field(default_factory=dict)
    batch_handlers: dict[str, BatchHandler] = field(default_factory=dict)

    def handles(
        self, model: type[E]
    ) -> Callable[[Callable[[HandlerContext, E], Awaitable[None]]], Handler]:
        """Register the decorated function as the handler of `model`'s event type."""

        def register(func: Callable[[HandlerContext, E], Awaitable[None]]) -> Handler:
            self.handlers[model.EVENT_TYPE] = func
            return func

        return register

    def handle(self, *handlers: Handler) -> None:
        """Register each handler for the event class its event parameter is annotated with
        (`async def on_user_created(ctx: HandlerContext, event: UserCreated)`), so a handler
        names its event once; a `functools.partial` of one is read through."""
        for func in handlers:
            self.handlers[_event_model_of(func).EVENT_TYPE] = func

    def handles_batch(self, *models: type[EventModel]) -> Callable[[BatchHandler], BatchHandler]:
        """Register the decorated function as the batch handler of these event types (one
        function for several types makes runs of mixed types one call)."""

        def register(func: BatchHandler) -> BatchHandler:
            for model in models:
                self.batch_handlers[model.EVENT_TYPE] = func
            return func

        return register


def _event_model_of(handler: Handler) -> type[EventModel]:
    """The event class a handler's second parameter is annotated with."""
    func = handler.func if isinstance(handler, functools.partial) else handler
    parameters = list(inspect.signature(func).parameters)
    model = typing.get_type_hints(func).get(parameters[1]) if len(parameters) > 1 else None
    if not (isinstance(model, type) and issubclass(model, EventModel)):
        raise TypeError(f"{func.__qualname__}: annotate its event parameter with an event class")
    return model


class DatabaseUnavailableError(RuntimeError):
    """The database could not be reached; the batch is read again later."""


DeadLetterPublish = Callable[[str, bytes | None, bytes, dict[str, str]], Awaitable[None]]


def group_of(key: str, groups: int) -> int:
    """The group a message key's records are applied in (stable, so one key keeps its order)."""
    return zlib.crc32(key.encode()) % groups


@dataclass
class _Work:
    """A decoded record that one of this consumer's handlers takes."""

    record: ConsumerRecord[Any, Any]
    envelope: EventEnvelope
    payload: EventModel
    handler: Handler | BatchHandler
    batched: bool
    correlation_id: str


@dataclass
class _Tally:
    applied: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    skipped: int = 0
    fallbacks: int = 0
    parked: int = 0
    by_type: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(event type label, outcome) -> records, for `ticketing_consumer_events_total`."""

    def note(self, event_type: str, outcome: str, count: int = 1) -> None:
        self.by_type[_type_label(event_type), outcome] += count

    def publish(self, consumer: str) -> None:
        for (event_type, outcome), count in self.by_type.items():
            CONSUMER_EVENTS.labels(consumer, event_type, outcome).inc(count)


def _type_label(event_type: str) -> str:
    """An event type as a metric label: one the contracts know, else "unknown" (a record's
    type string may be anything a producer wrote)."""
    return event_type if event_type in TOPIC_OF_EVENT else "unknown"


class ConsumerRunner:
    """Handles batches of records for one `EventConsumer` (see the module docstring).

    A batch is decoded first (poison goes to the dead-letter topic at once). The records a
    handler takes are split by message key into `concurrency` groups: one key's records always
    fall in the same group, in offset order, so per-key order holds while groups run side by side
    on their own connections. Each group is applied in one transaction with one inbox insert for
    all its event ids; if anything in it fails, that transaction is rolled back and the group's
    records are applied again one by one, each in its own transaction with bounded retries, so a
    failing record is isolated and only it is retried or dead-lettered.
    """

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
        concurrency: int = 4,
        parked_max_age_s: float = 300.0,
    ) -> None:
        self.consumer = consumer
        self._pool = pool
        self._publish = publish
        self._source = source
        self._clock = clock
        self._max_attempts = max_attempts
        self._retry_base_delay_s = retry_base_delay_s
        self._concurrency = max(1, concurrency)
        self._parked_max_age_s = parked_max_age_s
        self._unavailable_streak = 0
        self._batch_started: float | None = None
        self.next_offsets: dict[tuple[str, int], int] = {}
        """(topic, partition) -> the offset after the last record handled (for the lag)."""
        self._lag_series: set[tuple[str, int]] = set()
        self.subscriber: Any = None
        """FastStream's subscriber (`register_consumer`); its aiokafka consumer once started."""

    def batch_age_s(self, now: float) -> float:
        """How long the batch in progress has run (monotonic seconds; 0 when idle)."""
        started = self._batch_started
        return 0.0 if started is None else max(0.0, now - started)

    def loop_stopped(self) -> bool:
        """Whether the subscriber was started and its consume loop has ended. FastStream
        restarts a loop that fails, but one that returns (its aiokafka consumer stopped under
        it) stays ended while the process looks healthy. Not started yet, or stopped by the
        app's shutdown (which clears the tasks), is not "stopped"."""
        tasks: list[asyncio.Task[Any]] = getattr(self.subscriber, "tasks", None) or []
        return bool(tasks) and all(task.done() for task in tasks)

    async def publish_lag(self) -> None:
        """`ticketing_consumer_lag_records` per assigned partition: the high watermark the
        consumer's own fetches saw, minus the next offset this replica will handle. Not
        `end_offsets()`, which lags the true end on Tansu (docs/architecture.md)."""
        consumer = getattr(self.subscriber, "consumer", None)
        if consumer is None:
            return
        assigned = {(tp.topic, tp.partition) for tp in consumer.assignment()}
        self._forget_unassigned(assigned)
        for tp in consumer.assignment():
            high = consumer.highwater(tp)
            if high is None:
                continue
            done = self.next_offsets.get((tp.topic, tp.partition))
            if done is None:
                try:
                    done = await asyncio.wait_for(consumer.position(tp), timeout=0.5)
                except Exception as error:  # not assigned any more, or no position yet
                    log.debug("no position for the lag", partition=str(tp), error=repr(error))
                    continue
            CONSUMER_LAG.labels(self.consumer.name, tp.topic, str(tp.partition)).set(
                max(0, high - done)
            )
            self._lag_series.add((tp.topic, tp.partition))

    def _forget_unassigned(self, assigned: set[tuple[str, int]]) -> None:
        """After a rebalance: no lag series for a partition another replica now reads (it would
        stay at its last value), and no remembered offset for it (stale when it comes back)."""
        for topic, partition in set(self._lag_series) - assigned:
            CONSUMER_LAG.remove(self.consumer.name, topic, str(partition))
        self._lag_series &= assigned
        for where in set(self.next_offsets) - assigned:
            del self.next_offsets[where]

    async def handle_batch(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Handle the batch; raise only when it must be read again (database unavailable)."""
        started = self._batch_started = time.monotonic()
        tally = _Tally()
        try:
            work = []
            for record in records:
                item = await self._decode(record, tally)
                if item is not None:
                    work.append(item)
            groups: list[list[_Work]] = [[] for _ in range(self._concurrency)]
            for item in work:
                groups[group_of(item.envelope.key, self._concurrency)].append(item)
            # Every group finishes before the batch is judged, so a batch read again never runs
            # beside the remains of its first reading.
            outcomes = await asyncio.gather(
                *(self._apply_group(g, tally) for g in groups if g), return_exceptions=True
            )
            failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if isinstance(failure, UNAVAILABLE_ERRORS):
                self._unavailable_streak += 1
                delay = min(5.0, 0.25 * 2 ** min(self._unavailable_streak, 5))
                log.warning(
                    "database unavailable, will re-read",
                    consumer=self.consumer.name,
                    error=repr(failure),
                    retry_in_s=delay,
                )
                await asyncio.sleep(delay)
                raise DatabaseUnavailableError(repr(failure)) from failure
            if failure is not None:
                raise failure
            self._unavailable_streak = 0
            for record in records:
                where = (record.topic, record.partition)
                self.next_offsets[where] = max(self.next_offsets.get(where, 0), record.offset + 1)
        finally:
            self._batch_started = None
            tally.publish(self.consumer.name)
            CONSUMER_BATCH_DURATION.labels(self.consumer.name).observe(time.monotonic() - started)
            structlog.contextvars.clear_contextvars()
        log.info(
            "batch handled",
            consumer=self.consumer.name,
            records=len(records),
            applied=tally.applied,
            duplicates=tally.duplicates,
            dead_lettered=tally.dead_lettered,
            not_for_this_consumer=tally.skipped,
            parked=tally.parked,
            groups_retried_one_by_one=tally.fallbacks,
            ms=round((time.monotonic() - started) * 1000, 1),
        )

    def _bind(self, record: ConsumerRecord[Any, Any], **extra: str) -> None:
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            consumer=self.consumer.name,
            **extra,
        )

    async def _decode(self, record: ConsumerRecord[Any, Any], tally: _Tally) -> _Work | None:
        """The record as work for a handler; None when it is poison (dead-lettered here) or no
        handler of this consumer takes its type."""
        # The log context is bound only on the way to the dead-letter topic: binding it for
        # every record cost ~9 % of billing's CPU in a catch-up (py-spy).
        try:
            envelope = EventEnvelope.model_validate_json(record.value or b"")
        except ValidationError as error:
            headers = {k: v.decode(errors="replace") for k, v in (record.headers or ())}
            correlation = headers.get("correlation_id")
            self._bind(record, **({"correlation_id": correlation} if correlation else {}))
            reason = "undecodable" if _is_json_error(error) else "invalid-envelope"
            await self._dead_letter(record, reason, error, attempts=0)
            tally.dead_lettered += 1
            tally.note("", "dead_lettered")
            return None
        try:
            model = model_for(envelope.event_type, envelope.event_version)
        except (UnknownEventTypeError, UnsupportedEventVersionError) as error:
            reason = (
                "unknown-type"
                if isinstance(error, UnknownEventTypeError)
                else "unsupported-version"
            )
            self._bind_envelope(record, envelope)
            await self._dead_letter(record, reason, error, attempts=0)
            tally.dead_lettered += 1
            tally.note(envelope.event_type, "dead_lettered")
            return None
        try:
            payload = model.model_validate(envelope.payload)
        except ValidationError as error:
            self._bind_envelope(record, envelope)
            await self._dead_letter(record, "invalid-payload", error, attempts=0)
            tally.dead_lettered += 1
            tally.note(envelope.event_type, "dead_lettered")
            return None
        batch_handler = self.consumer.batch_handlers.get(envelope.event_type)
        handler = batch_handler or self.consumer.handlers.get(envelope.event_type)
        if handler is None:
            tally.skipped += 1
            tally.note(envelope.event_type, "skipped")
            return None
        return _Work(
            record, envelope, payload, handler, batch_handler is not None, envelope.correlation_id
        )

    def _bind_envelope(self, record: ConsumerRecord[Any, Any], envelope: EventEnvelope) -> None:
        self._bind(
            record,
            event_id=str(envelope.event_id),
            event_type=envelope.event_type,
            correlation_id=envelope.correlation_id,
        )
        if ticket_id := envelope.payload.get("ticket_id"):
            structlog.contextvars.bind_contextvars(ticket_id=str(ticket_id))

    async def _apply_group(self, group: list[_Work], tally: _Tally) -> None:
        """All of the group in one transaction; on any failure, one by one (see the class)."""
        try:
            applied, duplicates, parked = await self._apply_together(group)
        except UNAVAILABLE_ERRORS:
            raise
        except Exception as error:
            tally.fallbacks += 1
            if not isinstance(error, NotYetKnownError):
                log.warning(
                    "a record of the batch failed; applying its group one by one",
                    consumer=self.consumer.name,
                    records=len(group),
                    error=repr(error),
                )
            await self._apply_one_by_one(group, tally)
            return
        debug = logging.getLogger(__name__).isEnabledFor(logging.DEBUG)
        for item in applied:
            failpoint("consumer.after_commit", match=(item.envelope.key, item.correlation_id))
            if debug:
                self._bind_envelope(item.record, item.envelope)
                log.debug("event handled")
        tally.applied += len(applied)
        tally.duplicates += len(duplicates)
        tally.parked += len(parked)
        for items, outcome in ((applied, "handled"), (duplicates, "duplicate"), (parked, "parked")):
            for item in items:
                tally.note(item.envelope.event_type, outcome)

    async def _apply_one_by_one(self, group: list[_Work], tally: _Tally) -> None:
        async with self._pool.acquire() as conn:
            waiting = await parking.parked_keys(
                conn, consumer=self.consumer.name, keys=sorted({i.envelope.key for i in group})
            )
        for item in group:
            self._bind_envelope(item.record, item.envelope)
            if item.envelope.key in waiting:
                await self._park(item, BEHIND_PARKED)
                tally.parked += 1
                tally.note(item.envelope.event_type, "parked")
                continue
            outcome = await self._run_with_retries(item)
            if outcome == "applied":
                tally.applied += 1
                tally.note(item.envelope.event_type, "handled")
            elif outcome == "duplicate":
                tally.duplicates += 1
                tally.note(item.envelope.event_type, "duplicate")
            elif outcome == "parked":
                tally.parked += 1
                tally.note(item.envelope.event_type, "parked")
                waiting.add(item.envelope.key)
            else:
                tally.dead_lettered += 1
                tally.note(item.envelope.event_type, "dead_lettered")

    async def _park(self, item: _Work, reason: str) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await self._park_on(conn, item, reason)
        log.warning("record parked until what it depends on arrives", reason=reason)

    async def _park_on(self, conn: Connection, item: _Work, reason: str) -> None:
        """Park `item` in the caller's transaction (parking.py)."""
        await parking.park(
            conn,
            consumer=self.consumer.name,
            key=item.envelope.key,
            event_id=item.envelope.event_id,
            record=item.record,
            reason=reason,
        )

    async def _apply_together(
        self, group: list[_Work]
    ) -> tuple[list[_Work], list[_Work], list[_Work]]:
        """Apply the group's new events in one transaction; (applied, duplicates, parked).
        Records of a key that has records parked are parked behind them."""
        async with self._pool.acquire() as conn, conn.transaction():
            waiting = await parking.parked_keys(
                conn, consumer=self.consumer.name, keys=sorted({i.envelope.key for i in group})
            )
            behind = [item for item in group if item.envelope.key in waiting]
            for item in behind:
                await self._park_on(conn, item, BEHIND_PARKED)
            group = [item for item in group if item.envelope.key not in waiting]
            first_time = {
                row["event_id"]
                for row in await conn.fetch(
                    """INSERT INTO inbox (consumer, event_id, event_type)
                       SELECT $1, e.id, e.type FROM unnest($2::uuid[], $3::text[]) AS e(id, type)
                       ON CONFLICT DO NOTHING RETURNING event_id""",
                    self.consumer.name,
                    [item.envelope.event_id for item in group],
                    [item.envelope.event_type for item in group],
                )
            }
            applied, duplicates = [], []
            for item in group:
                if item.envelope.event_id in first_time:
                    first_time.discard(item.envelope.event_id)  # the same event twice in a batch
                    applied.append(item)
                else:
                    duplicates.append(item)
            await self._apply(conn, applied)
        return applied, duplicates, behind

    async def _apply(self, conn: Connection, items: list[_Work]) -> None:
        """Run the handlers of new events in this transaction, in order: a run of records that
        share a batch handler in one call, others one by one; then write what they emitted to
        the outbox in one statement. Each record has its span, continuing its trace."""
        outgoing: list[EventEnvelope] = []
        traced = (
            [
                (
                    i.envelope.event_id,
                    i.envelope.event_type,
                    i.record.topic,
                    traceparent_of(i.record.headers),
                )
                for i in items
            ]
            if tracing.enabled()
            else []
        )
        with tracing.consuming(self.consumer.name, traced) as spans:
            for run in _runs(items):
                contexts = [
                    HandlerContext(conn, i.envelope, self._source, self._clock, outgoing)
                    for i in run
                ]
                if run[0].batched:
                    batch_handler = cast(BatchHandler, run[0].handler)
                    started = time.perf_counter()
                    # A run of one record (the usual case at low rates) runs under its span;
                    # a longer run's records have theirs, none current.
                    with spans.current(run[0].envelope.event_id if len(run) == 1 else None):
                        await batch_handler(
                            conn,
                            [Delivery(c, i.payload) for c, i in zip(contexts, run, strict=True)],
                        )
                    self._handler_time(run[0], started)
                for ctx, item in zip(contexts, run, strict=True):
                    if not item.batched:
                        self._bind_envelope(item.record, item.envelope)
                        started = time.perf_counter()
                        with spans.current(item.envelope.event_id):
                            await cast(Handler, item.handler)(ctx, item.payload)
                        self._handler_time(item, started)
                    failpoint(
                        "consumer.inside_transaction",
                        match=(item.envelope.key, item.correlation_id),
                    )
            await enqueue_many(conn, outgoing)

    def _handler_time(self, item: _Work, started: float) -> None:
        CONSUMER_HANDLER_DURATION.labels(
            self.consumer.name, _type_label(item.envelope.event_type)
        ).observe(time.perf_counter() - started)

    async def _run_with_retries(self, item: _Work) -> str:
        """One record in its own transaction, with bounded retries; "applied", "duplicate",
        "parked" (it depends on something not seen yet) or "dead-lettered"."""
        for attempt in range(1, self._max_attempts + 1):
            try:
                applied = await self._apply_once(item)
            except UNAVAILABLE_ERRORS:
                raise
            except NotYetKnownError as error:
                await self._park(item, str(error))
                return "parked"
            except Exception as error:
                self._count(item, "failed")
                if attempt == self._max_attempts:
                    log.error("handler failed, giving up", attempts=attempt, exc_info=error)
                    await self._dead_letter(item.record, "handler-failed", error, attempts=attempt)
                    return "dead-lettered"
                log.warning("handler failed, retrying", attempt=attempt, error=repr(error))
                await asyncio.sleep(self._retry_base_delay_s * 2 ** (attempt - 1))
                continue
            if applied:
                failpoint("consumer.after_commit", match=(item.envelope.key, item.correlation_id))
                log.info("event handled on its own after its group failed")
                return "applied"
            log.info("duplicate event skipped")
            return "duplicate"
        raise AssertionError("unreachable")

    async def _apply_once(self, item: _Work, *, parked_id: int | None = None) -> bool:
        async with self._pool.acquire() as conn, conn.transaction():
            if parked_id is not None:
                await parking.release(conn, parked_id=parked_id)
            first_time = await conn.fetchval(
                """INSERT INTO inbox (consumer, event_id, event_type) VALUES ($1, $2, $3)
                   ON CONFLICT DO NOTHING RETURNING true""",
                self.consumer.name,
                item.envelope.event_id,
                item.envelope.event_type,
            )
            if not first_time:
                return False
            await self._apply(conn, [item])
        return True

    async def retry_parked(self, *, keys: int = 50) -> int:
        """Try the parked keys that are due again, each key's records in order; return how
        many keys were looked at (the parked-record worker's sweep)."""
        due = await parking.due_keys(self._pool, consumer=self.consumer.name, limit=keys)
        for key in due:
            for parked in await parking.records_of(
                self._pool, consumer=self.consumer.name, key=key, max_age_s=self._parked_max_age_s
            ):
                if not await self._retry_one(parked):
                    break
        return len(due)

    async def _retry_one(self, parked: parking.ParkedRecord) -> bool:
        """Apply one parked record; False when its key must wait longer."""
        item = await self._decode(parked.record, _Tally())
        if item is None:  # no handler takes it any more (it was decodable when parked)
            async with self._pool.acquire() as conn:
                await parking.release(conn, parked_id=parked.id)
            return True
        self._bind_envelope(item.record, item.envelope)
        try:
            await self._apply_once(item, parked_id=parked.id)
        except UNAVAILABLE_ERRORS:
            raise
        except Exception as error:
            missing = isinstance(error, NotYetKnownError)
            if parked.expired or (not missing and parked.attempts >= self._max_attempts):
                reason = "dependency-missing" if missing else "handler-failed"
                await self._dead_letter(item.record, reason, error, attempts=parked.attempts)
                self._count(item, "dead_lettered")
                async with self._pool.acquire() as conn:
                    await parking.release(conn, parked_id=parked.id)
                return True
            await parking.postpone(
                self._pool, consumer=self.consumer.name, key=parked.key, reason=str(error)
            )
            return False
        log.info("parked record applied", parked_for_attempts=parked.attempts)
        self._count(item, "handled")
        return True

    def _count(self, item: _Work, outcome: str) -> None:
        """One record's outcome straight to `ticketing_consumer_events_total` (outside a batch)."""
        CONSUMER_EVENTS.labels(
            self.consumer.name, _type_label(item.envelope.event_type), outcome
        ).inc()

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


def _runs(items: list[_Work]) -> list[list[_Work]]:
    """The items cut where the handler changes; a run of a batch handler is one call."""
    runs: list[list[_Work]] = []
    for item in items:
        if runs and item.batched and runs[-1][-1].handler is item.handler:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


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

    subscriber = broker.subscriber(
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
        group_instance_id=settings.consumer_group_instance_id,
        title=f"{runner.consumer.name}:{','.join(runner.consumer.topics)}",
        parser=_lenient_parser,
        decoder=_raw_decoder,
    )
    subscriber(on_batch)
    runner.subscriber = subscriber
