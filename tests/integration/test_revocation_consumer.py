"""A service's revocation list on a real PostgreSQL: the consumer's handlers write it once per
event (a redelivered event is skipped), in any order the latest revocation wins, events whose
tokens have all expired leave nothing, every replica's reading sees what any replica's consumer
applied, and rows are forgotten once their tokens have expired (services/runtime/revocation.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from contracts.accounts import SessionEnded, UserTokensRevoked
from contracts.common import EventModel
from contracts.topics import ACCOUNTS_EVENTS
from services.runtime.consumer import ConsumerRunner, EventConsumer, HandlerContext
from services.runtime.revocation import (
    RevocationList,
    RevocationRefresher,
    follow_revocations,
    forget_expired,
)
from tests.support import ManualClock, migrated, published_record

NOW = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
TTL = timedelta(minutes=10)
ORG = uuid.uuid4()


class _NoDeadLetters:
    async def __call__(self, topic: str, key: bytes | None, value: bytes, headers: Any) -> None:
        raise AssertionError(f"dead-lettered: {headers}")


def _record(event: EventModel, offset: int, *, user_id: uuid.UUID) -> ConsumerRecord:
    return published_record(
        event, ACCOUNTS_EVENTS, offset, source="auth", aggregate_id=user_id, version=2, at=NOW
    )


def _revoked(user_id: uuid.UUID, at: datetime) -> UserTokensRevoked:
    return UserTokensRevoked(
        user_id=user_id, org_id=ORG, revoked_before=at, tokens_expire_by=at + TTL, reason="test"
    )


@pytest.fixture
async def pool(scratch_pool: asyncpg.Pool) -> asyncpg.Pool:
    return await migrated(scratch_pool)


def _runner(pool: asyncpg.Pool, clock: ManualClock, calls: list[str]) -> ConsumerRunner:
    consumer = follow_revocations(EventConsumer(name="revocation-test", topics=[]))
    assert ACCOUNTS_EVENTS in consumer.topics
    for event_type, handler in list(consumer.handlers.items()):

        async def counted(ctx: HandlerContext, event: Any, handler: Any = handler) -> None:
            calls.append(ctx.envelope.event_type)
            await handler(ctx, event)

        consumer.handlers[event_type] = counted
    return ConsumerRunner(
        consumer, pool, _NoDeadLetters(), source="test", clock=clock, retry_base_delay_s=0.01
    )


async def test_a_redelivered_revocation_is_applied_once(pool: asyncpg.Pool) -> None:
    clock, calls = ManualClock(NOW), []
    runner = _runner(pool, clock, calls)
    ana, session = uuid.uuid4(), uuid.uuid4()
    records = [
        _record(_revoked(ana, NOW), 0, user_id=ana),
        _record(
            SessionEnded(
                session_id=session,
                user_id=ana,
                org_id=ORG,
                ended_at=NOW,
                tokens_expire_by=NOW + TTL,
                reason="logout",
            ),
            1,
            user_id=ana,
        ),
    ]

    await runner.handle_batch(records)
    await runner.handle_batch(records)  # the offsets were not committed: read again
    await runner.handle_batch([records[0], records[0]])  # and twice in one batch

    assert calls == ["UserTokensRevoked", "SessionEnded"]
    reading = await RevocationRefresher(pool, RevocationList(), clock=clock).read()
    assert reading.users == {ana: NOW.timestamp()}
    assert reading.sessions == {session}


async def test_the_latest_revocation_wins_whatever_the_order(pool: asyncpg.Pool) -> None:
    clock, calls = ManualClock(NOW), []
    runner = _runner(pool, clock, calls)
    ana = uuid.uuid4()
    later, earlier = NOW + timedelta(seconds=40), NOW

    await runner.handle_batch([_record(_revoked(ana, later), 0, user_id=ana)])
    await runner.handle_batch([_record(_revoked(ana, earlier), 1, user_id=ana)])

    reading = await RevocationRefresher(pool, RevocationList(), clock=clock).read()
    assert reading.users == {ana: later.timestamp()}


async def test_a_revocation_whose_tokens_have_all_expired_leaves_nothing(
    pool: asyncpg.Pool,
) -> None:
    clock, calls = ManualClock(NOW), []
    runner = _runner(pool, clock, calls)
    ana = uuid.uuid4()

    # A consumer group that reads the topic from its beginning meets last week's revocations.
    await runner.handle_batch([_record(_revoked(ana, NOW - timedelta(days=7)), 0, user_id=ana)])

    assert calls == ["UserTokensRevoked"]
    assert await pool.fetchval("SELECT count(*) FROM revoked_users") == 0


async def test_every_replica_reads_what_any_replicas_consumer_applied(pool: asyncpg.Pool) -> None:
    clock, calls = ManualClock(NOW), []
    runner = _runner(pool, clock, calls)  # the replica the partition of Ana's key went to
    lists = [RevocationList(stale_after_s=30), RevocationList(stale_after_s=30)]
    refreshers = [RevocationRefresher(pool, each, clock=clock) for each in lists]
    ana = uuid.uuid4()
    for refresher in refreshers:
        await refresher.sweep()
    assert all(ana not in each.current().users for each in lists)

    await runner.handle_batch([_record(_revoked(ana, NOW), 0, user_id=ana)])
    for refresher in refreshers:
        await refresher.sweep()

    assert all(each.current().users.get(ana) == NOW.timestamp() for each in lists)


async def test_rows_are_forgotten_once_their_tokens_have_expired(pool: asyncpg.Pool) -> None:
    clock, calls = ManualClock(NOW), []
    runner = _runner(pool, clock, calls)
    ana, bojan = uuid.uuid4(), uuid.uuid4()
    await runner.handle_batch(
        [
            _record(_revoked(ana, NOW), 0, user_id=ana),
            _record(_revoked(bojan, NOW + timedelta(minutes=5)), 1, user_id=bojan),
        ]
    )

    clock.moment = NOW + TTL + timedelta(minutes=1, seconds=1)  # Ana's tokens all expired
    reading = await RevocationRefresher(pool, RevocationList(), clock=clock).read()
    async with pool.acquire() as conn:
        forgotten = await forget_expired(conn, now=clock.now())

    assert set(reading.users) == {bojan}
    assert forgotten == 1
    assert await pool.fetchval("SELECT user_id FROM revoked_users") == bojan
