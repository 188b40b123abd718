"""The set-based batch handlers on a real PostgreSQL give what applying their records one after
another gives: billing decides a run of new tickets as it decides each alone, and a repeated
announcement of a ticket decides nothing twice; tickets records a run holding two decisions
about one ticket in order, the refusal included, and ignores an older one."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import asyncpg
import pytest

from contracts.billing import TicketClassified
from contracts.common import EventModel, Person, RuleHit
from contracts.envelope import EventEnvelope, new_envelope
from contracts.tickets import TicketCreated, TicketDecisionRecorded, TicketRefused
from services.billing import handlers as billing
from services.billing.policy import PolicyParameters
from services.runtime.consumer import Delivery, HandlerContext
from services.runtime.db import Connection
from services.tickets import decision_handlers
from services.tickets import repository as tickets_repository
from tests.factories import new_ticket
from tests.support import ManualClock, migrated

ORG = uuid.uuid4()
ANA = Person(user_id=uuid.uuid4(), email="ana@demo.example", display_name="Ana", language="sl")
MONDAY_10 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)  # 10:00 in Ljubljana, a working day
SATURDAY = datetime(2026, 10, 10, 8, 0, tzinfo=UTC)


CLOCK = ManualClock(MONDAY_10 + timedelta(minutes=1))
E = TypeVar("E", bound=EventModel)


@pytest.fixture
async def billing_pool(scratch_pool: asyncpg.Pool) -> asyncpg.Pool:
    return await migrated(scratch_pool, "billing")


@pytest.fixture
async def tickets_pool(scratch_pool: asyncpg.Pool) -> asyncpg.Pool:
    return await migrated(scratch_pool, "tickets")


def _envelope(event: EventModel, aggregate_id: uuid.UUID, version: int = 1) -> EventEnvelope:
    return new_envelope(
        event,
        source="test",
        aggregate_id=str(aggregate_id),
        aggregate_version=version,
        org_id=ORG,
        correlation_id="set-based-test",
        occurred_at=CLOCK.now(),
    )


def _deliveries(
    conn: Connection, events: Sequence[tuple[E, EventEnvelope]], outgoing: list[EventEnvelope]
) -> list[Delivery[E]]:
    return [
        Delivery(HandlerContext(conn, envelope, "test", CLOCK, outgoing), event)
        for event, envelope in events
    ]


def _created(number: int, submitted_at: datetime, channel: str = "portal") -> TicketCreated:
    return TicketCreated(
        ticket_id=uuid.uuid4(),
        number=number,
        org_id=ORG,
        requester=ANA,
        channel=channel,
        subject=f"Vprašanje {number}",
        body=f"Kako v programu Plače vnesem dodatek številka {number}?",
        program="Plače",
        submitted_at=submitted_at,
    )


async def _decide(pool: asyncpg.Pool, created: list[TicketCreated]) -> list[EventEnvelope]:
    outgoing: list[EventEnvelope] = []
    async with pool.acquire() as conn, conn.transaction():
        events = [(c, _envelope(c, c.ticket_id)) for c in created]
        await billing.classify_new_tickets(
            conn,
            _deliveries(conn, events, outgoing),
            params=PolicyParameters(),
        )
    return outgoing


async def _decisions(pool: asyncpg.Pool) -> dict[uuid.UUID, tuple[str, list[str], int]]:
    """Per ticket: the decision, its rule codes and its version."""
    rows = await pool.fetch("SELECT ticket_id, decision, reasons, version FROM decisions")
    return {
        r["ticket_id"]: (r["decision"], [h["code"] for h in json.loads(r["reasons"])], r["version"])
        for r in rows
    }


async def test_a_run_of_new_tickets_is_decided_as_each_would_be_alone(
    billing_pool: asyncpg.Pool,
) -> None:
    run = [
        _created(1, MONDAY_10),
        _created(2, SATURDAY),  # outside working hours
        _created(3, MONDAY_10, channel="phone"),
    ]
    alone = [c.model_copy() for c in run]

    outgoing = await _decide(billing_pool, run)
    together = await _decisions(billing_pool)
    await billing_pool.execute("TRUNCATE decisions, tickets CASCADE")
    for created in alone:
        await _decide(billing_pool, [created])
    one_by_one = await _decisions(billing_pool)

    assert together == one_by_one
    assert len(together) == 3
    assert together[run[0].ticket_id][1] != together[run[1].ticket_id][1]  # the rules differ
    assert [e.event_type for e in outgoing] == ["TicketClassified"] * 3
    assert [e.payload["ticket_id"] for e in outgoing] == [str(c.ticket_id) for c in run]
    assert all(e.causation_id is not None for e in outgoing)


async def test_a_ticket_announced_twice_in_a_run_or_later_is_decided_once(
    billing_pool: asyncpg.Pool,
) -> None:
    created = _created(7, MONDAY_10)

    first = await _decide(billing_pool, [created, created])
    again = await _decide(billing_pool, [created])

    assert len(first) == 1 and again == []
    assert await billing_pool.fetchval("SELECT count(*) FROM decisions") == 1


def _classified(ticket_id: uuid.UUID, stage: str, decision: str) -> TicketClassified:
    effect = "refused" if decision == "refused" else "free"
    return TicketClassified(
        ticket_id=ticket_id,
        org_id=ORG,
        stage=stage,
        decision=decision,
        reasons=(
            RuleHit(
                code="R-ARREARS" if effect == "refused" else "F-WARRANTY",
                effect=effect,
                explanation="Test reason.",
            ),
        ),
        policy_version="2026.11.1",
        decided_at=CLOCK.now(),
    )


async def test_two_decisions_about_one_ticket_in_a_run_are_recorded_in_order(
    tickets_pool: asyncpg.Pool,
) -> None:
    async with tickets_pool.acquire() as conn:
        ticket = await tickets_repository.insert_ticket(
            conn,
            new=new_ticket(
                id=uuid.uuid4(),
                org_id=ORG,
                requester=ANA,
                subject="Plače",
                body="Kako?",
                submitted_at=MONDAY_10,
            ),
        )
    stale = _classified(ticket.id, "provisional", "free")
    events = [
        (_classified(ticket.id, "provisional", "free"), 1),
        (_classified(ticket.id, "provisional", "refused"), 2),
        (stale, 1),  # an older decision delivered again, later
    ]
    outgoing: list[EventEnvelope] = []
    async with tickets_pool.acquire() as conn, conn.transaction():
        deliveries = _deliveries(
            conn, [(e, _envelope(e, ticket.id, version)) for e, version in events], outgoing
        )
        await decision_handlers.record_classifications(conn, deliveries)

    async with tickets_pool.acquire() as conn:
        stored = await tickets_repository.get_ticket(conn, ticket_id=ticket.id, org_id=ORG)
        timeline = await tickets_repository.list_transitions(conn, ticket_id=ticket.id)
    assert (stored.status, stored.decision, stored.decision_version) == ("refused", "refused", 2)
    assert [t.kind for t in timeline][-1:] == ["refused"]
    assert [e.event_type for e in outgoing] == [
        TicketDecisionRecorded.EVENT_TYPE,
        TicketDecisionRecorded.EVENT_TYPE,
        TicketRefused.EVENT_TYPE,
    ]
    assert [e.aggregate_version for e in outgoing] == [
        ticket.version + 1,
        ticket.version + 2,
        ticket.version + 3,
    ]
