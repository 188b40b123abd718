"""The consumer's batch handling on a real PostgreSQL: groups by key applied side by side in one
transaction each, a failure in the middle of a batch isolated to its record, redelivery of a
committed batch (a crash before the offset commit) applied once, records that depend on
something not yet seen parked with their key instead of holding up the partition, and batch
handlers given runs of records in order, with what they emit in the outbox in order, all of it
or nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from contracts.accounts import OrganizationCreated, UserDeactivated
from contracts.common import EventModel
from services.runtime.clock import SystemClock
from services.runtime.consumer import (
    ConsumerRunner,
    DatabaseUnavailableError,
    Delivery,
    EventConsumer,
    HandlerContext,
    group_of,
)
from services.runtime.db import Connection
from services.runtime.parking import NotYetKnownError
from tests.support import migrated, published_record

MOMENT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _record(org_id: uuid.UUID, name: str, offset: int, partition: int = 0) -> ConsumerRecord:
    return _record_of(
        OrganizationCreated(org_id=org_id, name=name, kind="customer"), offset, partition
    )


def _record_of(event: EventModel, offset: int, partition: int = 0) -> ConsumerRecord:
    org_id = event.org_id  # type: ignore[attr-defined]
    return published_record(
        event, "accounts.events", offset, partition, source="test", aggregate_id=org_id, at=MOMENT
    )


@pytest.fixture
async def pool(scratch_pool: asyncpg.Pool) -> asyncpg.Pool:
    await migrated(scratch_pool)
    await scratch_pool.execute(
        """CREATE TABLE seen (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                              org_id uuid NOT NULL, name text NOT NULL)"""
    )
    return scratch_pool


class _DeadLetters:
    def __init__(self) -> None:
        self.published: list[dict[str, str]] = []

    async def __call__(self, topic: str, key: bytes | None, value: bytes, headers: Any) -> None:
        self.published.append(headers)


def _running(
    consumer: EventConsumer,
    pool: asyncpg.Pool,
    dead: _DeadLetters,
    *,
    max_attempts: int,
    concurrency: int,
) -> ConsumerRunner:
    return ConsumerRunner(
        consumer,
        pool,
        dead,
        source="test",
        clock=SystemClock(),
        max_attempts=max_attempts,
        retry_base_delay_s=0.01,
        concurrency=concurrency,
    )


def _runner(
    pool: asyncpg.Pool, handler: Any, dead: _DeadLetters, *, concurrency: int = 4
) -> ConsumerRunner:
    consumer = EventConsumer(name="batch-test", topics=["accounts.events"])
    consumer.handles(OrganizationCreated)(handler)
    return _running(consumer, pool, dead, max_attempts=3, concurrency=concurrency)


async def _store(ctx: HandlerContext, event: OrganizationCreated) -> None:
    await ctx.conn.execute(
        "INSERT INTO seen (org_id, name) VALUES ($1, $2)", event.org_id, event.name
    )


async def test_a_failure_in_the_middle_of_a_batch_dead_letters_that_record_alone(
    pool: asyncpg.Pool,
) -> None:
    orgs = [uuid.uuid4() for _ in range(10)]
    records = [_record(org, f"org-{i}", i) for i, org in enumerate(orgs)]
    poisoned = orgs[4]

    async def handler(ctx: HandlerContext, event: OrganizationCreated) -> None:
        await _store(ctx, event)
        if event.org_id == poisoned:
            raise RuntimeError("this one cannot be applied")

    dead = _DeadLetters()
    await _runner(pool, handler, dead).handle_batch(records)

    rows = await pool.fetch("SELECT org_id FROM seen ORDER BY id")
    assert sorted(r["org_id"] for r in rows) == sorted(o for o in orgs if o != poisoned)
    assert [(h["dlq_reason"], h["dlq_attempts"]) for h in dead.published] == [
        ("handler-failed", "3")
    ]
    assert await pool.fetchval("SELECT count(*) FROM inbox") == 9  # the failed one is not marked


async def test_a_batch_read_again_after_its_commit_is_applied_once(pool: asyncpg.Pool) -> None:
    records = [_record(uuid.uuid4(), f"org-{i}", i) for i in range(20)]
    runner = _runner(pool, _store, _DeadLetters())

    await runner.handle_batch(records)
    await runner.handle_batch(records)  # the offsets were never committed: the same batch again
    await runner.handle_batch([records[3], records[3]])  # and one event twice in one batch

    assert await pool.fetchval("SELECT count(*) FROM seen") == 20


async def test_two_tickets_in_one_partition_are_handled_side_by_side_each_in_order(
    pool: asyncpg.Pool,
) -> None:
    slow = uuid.uuid4()
    quick = next(k for k in iter(uuid.uuid4, None) if group_of(str(k), 8) != group_of(str(slow), 8))
    records = [
        _record(slow if i % 2 == 0 else quick, f"step-{i}", i, partition=3) for i in range(6)
    ]
    slow_started, quick_done = asyncio.Event(), asyncio.Event()
    order: list[tuple[uuid.UUID, str]] = []

    async def handler(ctx: HandlerContext, event: OrganizationCreated) -> None:
        if event.org_id == slow and not slow_started.is_set():
            slow_started.set()
            await asyncio.wait_for(quick_done.wait(), timeout=5)  # waits for the other key
        order.append((event.org_id, event.name))
        if event.org_id == quick and event.name == "step-5":
            quick_done.set()

    await _runner(pool, handler, _DeadLetters(), concurrency=8).handle_batch(records)

    assert [name for org, name in order if org == slow] == ["step-0", "step-2", "step-4"]
    assert [name for org, name in order if org == quick] == ["step-1", "step-3", "step-5"]
    assert order.index((quick, "step-5")) < order.index((slow, "step-0"))


async def _needs_known(ctx: HandlerContext, event: OrganizationCreated) -> None:
    """Applies "needs:<name>" only once a row `known(<name>)` exists."""
    if event.name.startswith("needs:"):
        wanted = event.name.removeprefix("needs:")
        if not await ctx.conn.fetchval("SELECT 1 FROM known WHERE name = $1", wanted):
            raise NotYetKnownError(f"{wanted} not seen yet")
    await _store(ctx, event)


async def _due_now(pool: asyncpg.Pool) -> None:
    await pool.execute("UPDATE parked SET next_attempt_at = now()")


async def test_a_record_about_something_not_yet_seen_is_parked_with_its_key_and_others_flow(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute("CREATE TABLE known (name text PRIMARY KEY)")
    waiting_key, other_key = uuid.uuid4(), uuid.uuid4()
    records = [
        _record(waiting_key, "needs:ticket-7", 0),
        _record(waiting_key, "after-it", 1),  # same key: must wait behind it
        _record(other_key, "unrelated", 2),
    ]
    dead = _DeadLetters()
    runner = _runner(pool, _needs_known, dead)

    await runner.handle_batch(records)

    assert [r["name"] for r in await pool.fetch("SELECT name FROM seen")] == ["unrelated"]
    parked = await pool.fetch("SELECT message_key, reason FROM parked ORDER BY id")
    assert [(r["message_key"], r["reason"]) for r in parked] == [
        (str(waiting_key), "ticket-7 not seen yet"),
        (str(waiting_key), "behind a parked record of the same key"),
    ]
    later = _record(waiting_key, "later-still", 3)
    await runner.handle_batch([later])  # a later batch: still behind the parked record
    assert await pool.fetchval("SELECT count(*) FROM parked") == 3

    await _due_now(pool)
    await runner.retry_parked()  # the dependency has still not arrived
    assert await pool.fetchval("SELECT count(*) FROM parked") == 3
    await pool.execute("INSERT INTO known VALUES ('ticket-7')")
    await _due_now(pool)
    await runner.retry_parked()

    rows = await pool.fetch("SELECT name FROM seen ORDER BY id")
    assert [r["name"] for r in rows] == ["unrelated", "needs:ticket-7", "after-it", "later-still"]
    assert await pool.fetchval("SELECT count(*) FROM parked") == 0
    assert dead.published == []
    await runner.handle_batch(records)  # read again: nothing twice
    assert await pool.fetchval("SELECT count(*) FROM seen") == 4


async def test_a_record_parked_too_long_goes_to_the_dead_letter_topic_and_its_key_moves_on(
    pool: asyncpg.Pool,
) -> None:
    await pool.execute("CREATE TABLE known (name text PRIMARY KEY)")
    key = uuid.uuid4()
    dead = _DeadLetters()
    runner = ConsumerRunner(
        _runner(pool, _needs_known, dead).consumer,
        pool,
        dead,
        source="test",
        clock=SystemClock(),
        parked_max_age_s=0.01,
    )
    await runner.handle_batch([_record(key, "needs:never", 0), _record(key, "next", 1)])
    await asyncio.sleep(0.05)
    await _due_now(pool)

    await runner.retry_parked()

    assert [(h["dlq_reason"], h["dlq_original_offset"]) for h in dead.published] == [
        ("dependency-missing", "0")
    ]
    assert [r["name"] for r in await pool.fetch("SELECT name FROM seen")] == ["next"]
    assert await pool.fetchval("SELECT count(*) FROM parked") == 0


async def _store_run(conn: Connection, deliveries: list[Delivery[OrganizationCreated]]) -> None:
    """A batch handler: one insert for the run, and a follow-up event per record."""
    runs.append([d.event.name for d in deliveries])
    await conn.execute(
        "INSERT INTO seen (org_id, name) SELECT * FROM unnest($1::uuid[], $2::text[])",
        [d.event.org_id for d in deliveries],
        [d.event.name for d in deliveries],
    )
    for d in deliveries:
        if d.event.name == "poison":
            raise RuntimeError("this one cannot be applied")
        await d.ctx.emit(
            UserDeactivated(user_id=uuid.uuid4(), org_id=d.event.org_id),
            aggregate_id=d.event.org_id,
            aggregate_version=2,
            org_id=d.event.org_id,
        )


runs: list[list[str]] = []


def _batch_runner(pool: asyncpg.Pool, dead: _DeadLetters) -> ConsumerRunner:
    consumer = EventConsumer(name="batch-test", topics=["accounts.events"])
    consumer.handles_batch(OrganizationCreated)(_store_run)  # type: ignore[arg-type]

    @consumer.handles(UserDeactivated)
    async def one(ctx: HandlerContext, event: UserDeactivated) -> None:
        await ctx.conn.execute(
            "INSERT INTO seen (org_id, name) VALUES ($1, 'deactivated')", event.org_id
        )

    return _running(consumer, pool, dead, max_attempts=2, concurrency=1)


async def test_a_batch_handler_gets_each_run_in_order_and_its_events_reach_the_outbox_in_order(
    pool: asyncpg.Pool,
) -> None:
    runs.clear()
    org = uuid.uuid4()
    records = [
        _record(org, "a", 0),
        _record(org, "b", 1),
        _record_of(UserDeactivated(user_id=uuid.uuid4(), org_id=org), 2),
        _record(org, "c", 3),
    ]

    await _batch_runner(pool, _DeadLetters()).handle_batch(records)

    assert runs == [["a", "b"], ["c"]]  # the other type cuts the run; order holds
    names = [r["name"] for r in await pool.fetch("SELECT name FROM seen ORDER BY id")]
    assert names == ["a", "b", "deactivated", "c"]
    outbox = await pool.fetch("SELECT envelope FROM outbox ORDER BY id")
    caused_by = [json.loads(r["envelope"])["causation_id"] for r in outbox]
    assert caused_by == [json.loads(records[i].value)["event_id"] for i in (0, 1, 3)]


async def test_a_failing_record_in_a_batch_run_leaves_nothing_of_the_run_and_goes_alone(
    pool: asyncpg.Pool,
) -> None:
    runs.clear()
    org = uuid.uuid4()
    records = [_record(org, "a", 0), _record(org, "poison", 1), _record(org, "c", 2)]
    dead = _DeadLetters()

    await _batch_runner(pool, dead).handle_batch(records)

    # The run failed as a whole; then each record was handed over alone.
    assert runs[0] == ["a", "poison", "c"]
    assert ["a"] in runs and ["c"] in runs
    names = [r["name"] for r in await pool.fetch("SELECT name FROM seen ORDER BY id")]
    assert names == ["a", "c"]
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 2  # none from the failed run
    assert [h["dlq_reason"] for h in dead.published] == ["handler-failed"]


async def test_a_connection_broken_mid_statement_is_read_again_not_dead_lettered(
    pool: asyncpg.Pool,
) -> None:
    # What asyncpg raises when PostgreSQL stops while a statement is running.
    broken = asyncpg.InternalClientError(
        "cannot switch to state 15; another operation (2) is in progress"
    )
    failures = iter([broken] * 3)  # as many as max_attempts, in a row
    org = uuid.uuid4()

    async def handler(ctx: HandlerContext, event: OrganizationCreated) -> None:
        await _store(ctx, event)
        failure = next(failures, None)
        if failure is not None:
            raise failure

    dead = _DeadLetters()
    runner = _runner(pool, handler, dead)
    reads = 0
    while True:
        reads += 1
        try:
            await runner.handle_batch([_record(org, "org-broken", 0)])
            break
        except DatabaseUnavailableError:
            continue

    assert reads == 4
    assert dead.published == []
    assert await pool.fetchval("SELECT count(*) FROM seen WHERE org_id = $1", org) == 1
