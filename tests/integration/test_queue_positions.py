"""Places on the waiting list at scale: exact while at most `QUEUE_COUNT_LIMIT` tickets are
ahead, a lower bound that says so behind more (the count stops there, so reading a place does
not cost more as the list grows)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.tickets import repository
from services.tickets.domain import QUEUE_COUNT_LIMIT, QueuePlace
from tests.support import migrated

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
async def pool(scratch_pool: asyncpg.Pool) -> asyncpg.Pool:
    return await migrated(scratch_pool, "tickets")


async def _waiting(pool: asyncpg.Pool, count: int, *, first: int) -> list[uuid.UUID]:
    """`count` waiting tickets, the i-th submitted `first + i` seconds after T0."""
    ids = [uuid.uuid4() for _ in range(count)]
    org, requester = uuid.uuid4(), uuid.uuid4()
    await pool.copy_records_to_table(
        "tickets",
        columns=["id", "org_id", "requester_id", "requester_email", "requester_name",
                 "requester_language", "channel", "subject", "body", "submitted_at", "topic"],
        records=[
            (t, org, requester, "ana@demo.example", "Ana", "sl", "portal", "Vprašanje",
             "Kako?", T0 + timedelta(seconds=first + i), "program_usage")
            for i, t in enumerate(ids)
        ],
    )  # fmt: skip
    return ids


async def test_places_are_exact_up_to_the_limit_and_a_marked_lower_bound_beyond(
    pool: asyncpg.Pool,
) -> None:
    ids = await _waiting(pool, QUEUE_COUNT_LIMIT + 30, first=0)
    async with pool.acquire() as conn:
        near = await repository.queue_positions(conn, ticket_ids=[ids[0], ids[5]])
        edge = await repository.queue_positions(conn, ticket_ids=[ids[QUEUE_COUNT_LIMIT]])
        page = await repository.queue_positions(conn, ticket_ids=ids[-3:])

    assert near == {ids[0]: QueuePlace(1, exact=True), ids[5]: QueuePlace(6, exact=True)}
    # exactly the limit ahead: still counted to the end
    assert edge == {ids[QUEUE_COUNT_LIMIT]: QueuePlace(QUEUE_COUNT_LIMIT + 1, exact=True)}
    # behind more: at least one past the limit, in their order, and said to be a bound
    assert [page[t] for t in ids[-3:]] == [
        QueuePlace(QUEUE_COUNT_LIMIT + 2 + i, exact=False) for i in range(3)
    ]


async def test_a_ticket_that_does_not_wait_has_no_place(pool: asyncpg.Pool) -> None:
    [waiting, taken] = await _waiting(pool, 2, first=10_000)
    await pool.execute("UPDATE tickets SET status = 'in_progress' WHERE id = $1", taken)
    async with pool.acquire() as conn:
        places = await repository.queue_positions(conn, ticket_ids=[waiting, taken])
    assert set(places) == {waiting}


async def test_a_new_ticket_learns_its_place_as_reading_it_would_tell(pool: asyncpg.Pool) -> None:
    ids = await _waiting(pool, QUEUE_COUNT_LIMIT + 5, first=0)
    async with pool.acquire() as conn:
        for ticket_id in (ids[0], ids[7], ids[QUEUE_COUNT_LIMIT], ids[-1]):
            ticket = await repository.get_ticket(conn, ticket_id=ticket_id, org_id=None)
            read = await repository.queue_positions(conn, ticket_ids=[ticket_id])
            assert await repository.place_of_new(conn, ticket=ticket) == read[ticket_id]
