"""The SQL of the tickets billing remembers (table `tickets`) and their resolutions; the policy's
inputs, P-REPEAT's search and the decisions have their own modules (`*_repository.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from services.billing import similarity
from services.billing.policy import (
    TicketFacts,
    WorkFacts,
)
from services.runtime.db import Connection, from_row


class NotFoundError(LookupError):
    """No such ticket, or not visible to the caller's organization."""


@dataclass(frozen=True)
class BillingTicket:
    ticket_id: uuid.UUID
    org_id: uuid.UUID
    number: int
    subject: str
    body: str
    facts: TicketFacts

    @property
    def text(self) -> str:
        """What P-REPEAT compares: subject and description."""
        return f"{self.subject} {self.body}"


def _ticket(row: asyncpg.Record) -> BillingTicket:
    return from_row(BillingTicket, row, facts=from_row(TicketFacts, row))


async def remember_tickets(conn: Connection, *, tickets: Sequence[BillingTicket]) -> None:
    """Store tickets as announced, with the bands P-REPEAT finds them by (a repeated
    announcement changes nothing)."""
    await conn.execute(
        """INSERT INTO tickets (ticket_id, org_id, number, requester_id, channel, topic, program,
                                subject, body, submitted_at, repeat_bands)
           SELECT q.ticket_id, q.org_id, q.number, q.requester_id, q.channel, q.topic, q.program,
                  q.subject, q.body, q.submitted_at,
                  array_remove(($11::bigint[])[q.n * $12 - $12 + 1 : q.n * $12], NULL)
             FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::uuid[], $5::text[],
                         $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[])
                  WITH ORDINALITY AS q(ticket_id, org_id, number, requester_id, channel, topic,
                                       program, subject, body, submitted_at, n)
           ON CONFLICT (ticket_id) DO NOTHING""",
        [t.ticket_id for t in tickets],
        [t.org_id for t in tickets],
        [t.number for t in tickets],
        [t.facts.requester_id for t in tickets],
        [t.facts.channel for t in tickets],
        [t.facts.topic for t in tickets],
        [t.facts.program for t in tickets],
        [t.subject for t in tickets],
        [t.body for t in tickets],
        [t.facts.submitted_at for t in tickets],
        flat_bands(tickets),
        similarity.BANDS,
    )


def flat_bands(tickets: Sequence[BillingTicket]) -> list[int | None]:
    """Each ticket's bands, `similarity.BANDS` a ticket (None where a text has none)."""
    flat: list[int | None] = []
    for ticket in tickets:
        flat.extend(similarity.text_bands(ticket.text) or (None,) * similarity.BANDS)
    return flat


async def lock_tickets(
    conn: Connection, *, ticket_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, BillingTicket]:
    """The known tickets among these, locked (in id order, so two transactions cannot lock the
    same ones in opposite orders) so their decisions are numbered one at a time."""
    rows = await conn.fetch(
        "SELECT * FROM tickets WHERE ticket_id = ANY($1::uuid[]) ORDER BY ticket_id FOR UPDATE",
        list(ticket_ids),
    )
    return {row["ticket_id"]: _ticket(row) for row in rows}


async def get_ticket(
    conn: Connection, *, ticket_id: uuid.UUID, org_id: uuid.UUID | None, for_update: bool = False
) -> BillingTicket:
    """A known ticket (locked when asked, so its decisions are numbered one at a time)."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT * FROM tickets WHERE ticket_id = $1 AND ($2::uuid IS NULL OR org_id = $2){lock}",
        ticket_id,
        org_id,
    )
    if row is None:
        raise NotFoundError(str(ticket_id))
    return _ticket(row)


async def record_resolution(
    conn: Connection, *, ticket_id: uuid.UUID, work: WorkFacts, source_event_id: uuid.UUID
) -> bool:
    """Store one resolution; False when this event was stored before."""
    inserted = await conn.fetchval(
        """INSERT INTO resolutions (source_event_id, ticket_id, resolved_at, minutes,
                                    remote_session, data_correction, training, doc_reference,
                                    other_remote_service)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (source_event_id) DO NOTHING RETURNING true""",
        source_event_id,
        ticket_id,
        work.resolved_at,
        work.minutes,
        work.remote_session,
        work.data_correction,
        work.training,
        work.doc_reference,
        work.other_remote_service,
    )
    await conn.execute(
        """WITH resolved AS (
             UPDATE tickets SET resolved = true WHERE ticket_id = $1 AND NOT resolved
             RETURNING ticket_id, org_id, submitted_at, repeat_bands)
           INSERT INTO repeat_bands (ticket_id, band, org_id, submitted_at)
           SELECT ticket_id, unnest(repeat_bands), org_id, submitted_at FROM resolved
           ON CONFLICT DO NOTHING""",
        ticket_id,
    )
    return bool(inserted)


async def work_on(conn: Connection, *, ticket_id: uuid.UUID) -> WorkFacts | None:
    """All work on the ticket so far: minutes add up over resolutions, the latest one's time,
    anything any resolution involved, and the latest documentation reference."""
    row = await conn.fetchrow(
        """SELECT max(resolved_at) AS resolved_at, sum(minutes)::int AS minutes,
                  bool_or(remote_session) AS remote_session,
                  bool_or(data_correction) AS data_correction, bool_or(training) AS training,
                  (array_agg(doc_reference ORDER BY resolved_at DESC)
                     FILTER (WHERE doc_reference IS NOT NULL))[1] AS doc_reference,
                  bool_or(other_remote_service) AS other_remote_service
             FROM resolutions WHERE ticket_id = $1""",
        ticket_id,
    )
    if row is None or row["resolved_at"] is None:
        return None
    return from_row(WorkFacts, row)
