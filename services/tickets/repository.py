"""All SQL of the tickets service."""

from __future__ import annotations

import json
import uuid

import asyncpg

from contracts.common import Person, RuleHit
from services.runtime.db import Connection
from services.tickets.domain import NewTicket, Ticket


class NotFoundError(LookupError):
    """No such ticket (or not visible to the caller's organization)."""


def _ticket(row: asyncpg.Record) -> Ticket:
    return Ticket(
        id=row["id"],
        number=row["number"],
        org_id=row["org_id"],
        requester=Person(
            user_id=row["requester_id"],
            email=row["requester_email"],
            display_name=row["requester_name"],
            language=row["requester_language"],
        ),
        channel=row["channel"],
        subject=row["subject"],
        body=row["body"],
        program=row["program"],
        status=row["status"],
        submitted_at=row["submitted_at"],
        recorded_by=row["recorded_by"],
        version=row["version"],
        decision=row["decision"],
        decision_stage=row["decision_stage"],
        decision_version=row["decision_version"],
        decision_reasons=tuple(RuleHit(**r) for r in json.loads(row["decision_reasons"])),
        policy_version=row["policy_version"],
        deferred_until=row["deferred_until"],
        decided_at=row["decided_at"],
    )


async def insert_ticket(conn: Connection, *, new: NewTicket) -> Ticket:
    """Store a new ticket and return it with its number."""
    row = await conn.fetchrow(
        """INSERT INTO tickets (id, org_id, requester_id, requester_email, requester_name,
                                requester_language, channel, subject, body, program,
                                submitted_at, recorded_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           RETURNING *""",
        new.id,
        new.org_id,
        new.requester.user_id,
        new.requester.email,
        new.requester.display_name,
        new.requester.language,
        new.channel,
        new.subject,
        new.body,
        new.program,
        new.submitted_at,
        new.recorded_by,
    )
    assert row is not None
    return _ticket(row)


async def get_ticket(
    conn: Connection,
    *,
    ticket_id: uuid.UUID,
    org_id: uuid.UUID | None,
    for_update: bool = False,
) -> Ticket:
    """Fetch a ticket; `org_id` (None only for vendor staff) limits it to one organization."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT * FROM tickets WHERE id = $1 AND ($2::uuid IS NULL OR org_id = $2){lock}",
        ticket_id,
        org_id,
    )
    if row is None:
        raise NotFoundError(str(ticket_id))
    return _ticket(row)


async def list_tickets(
    conn: Connection, *, org_id: uuid.UUID | None, limit: int, offset: int
) -> tuple[list[Ticket], int]:
    """One page of tickets, newest first, and the total count, within one organization if given."""
    rows = await conn.fetch(
        """SELECT * FROM tickets WHERE ($1::uuid IS NULL OR org_id = $1)
           ORDER BY submitted_at DESC, id DESC LIMIT $2 OFFSET $3""",
        org_id,
        limit,
        offset,
    )
    total = await conn.fetchval(
        "SELECT count(*) FROM tickets WHERE ($1::uuid IS NULL OR org_id = $1)", org_id
    )
    return [_ticket(r) for r in rows], int(total)


async def save_decision(conn: Connection, *, ticket: Ticket) -> None:
    """Persist the decision fields and version of a ticket."""
    await conn.execute(
        """UPDATE tickets SET version = $2, decision = $3, decision_stage = $4,
                  decision_version = $5, decision_reasons = $6::jsonb, policy_version = $7,
                  deferred_until = $8, decided_at = $9, updated_at = now()
            WHERE id = $1""",
        ticket.id,
        ticket.version,
        ticket.decision,
        ticket.decision_stage,
        ticket.decision_version,
        json.dumps([r.model_dump(mode="json") for r in ticket.decision_reasons]),
        ticket.policy_version,
        ticket.deferred_until,
        ticket.decided_at,
    )
