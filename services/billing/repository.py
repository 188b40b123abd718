"""All SQL of the billing service."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from contracts.common import Decision, DecisionStage, RuleHit
from services.billing.policy import (
    Arrangement,
    EarlierTicket,
    Onboarding,
    PolicyInputs,
    Standing,
    TicketFacts,
    WorkFacts,
)
from services.runtime.db import Connection


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


def _ticket(row: asyncpg.Record) -> BillingTicket:
    return BillingTicket(
        row["ticket_id"],
        row["org_id"],
        row["number"],
        row["subject"],
        row["body"],
        TicketFacts(
            channel=row["channel"],
            submitted_at=row["submitted_at"],
            requester_id=row["requester_id"],
            topic=row["topic"],
            program=row["program"],
        ),
    )


async def remember_ticket(conn: Connection, *, ticket: BillingTicket) -> None:
    """Store a ticket as announced (a repeated announcement changes nothing)."""
    await conn.execute(
        """INSERT INTO tickets (ticket_id, org_id, number, requester_id, channel, topic, program,
                                subject, body, submitted_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (ticket_id) DO NOTHING""",
        ticket.ticket_id,
        ticket.org_id,
        ticket.number,
        ticket.facts.requester_id,
        ticket.facts.channel,
        ticket.facts.topic,
        ticket.facts.program,
        ticket.subject,
        ticket.body,
        ticket.facts.submitted_at,
    )


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
        "UPDATE tickets SET resolved = true WHERE ticket_id = $1 AND NOT resolved", ticket_id
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
    return WorkFacts(
        resolved_at=row["resolved_at"],
        minutes=row["minutes"],
        remote_session=row["remote_session"],
        data_correction=row["data_correction"],
        training=row["training"],
        doc_reference=row["doc_reference"],
        other_remote_service=row["other_remote_service"],
    )


# --- policy inputs ------------------------------------------------------------------------------


async def record_standing(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    standing: Standing,
    source: str,
    recorded_at: datetime,
    source_event_id: uuid.UUID | None = None,
) -> None:
    """Append the organization's account standing (true from `standing.as_of`) to its history."""
    await conn.execute(
        """INSERT INTO standing_history (org_id, has_unpaid_obligations, as_of, recorded_at,
                                         source, source_event_id)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source_event_id) DO NOTHING""",
        org_id,
        standing.has_unpaid_obligations,
        standing.as_of,
        recorded_at,
        source,
        source_event_id,
    )


async def record_onboarding(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    record: Onboarding,
    as_of: datetime,
    source: str,
    recorded_at: datetime,
    source_event_id: uuid.UUID | None = None,
) -> None:
    """Append an onboarding record (true from `as_of`)."""
    await conn.execute(
        """INSERT INTO onboarding_records (org_id, user_id, program, kind, completed_on,
                                           organization_setup_done, as_of, recorded_at, source,
                                           source_event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (source_event_id) DO NOTHING""",
        org_id,
        record.user_id,
        record.program,
        record.kind,
        record.completed_on,
        record.organization_setup_done,
        as_of,
        recorded_at,
        source,
        source_event_id,
    )


async def record_arrangement(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    arrangement: Arrangement,
    note: str | None,
    recorded_by: uuid.UUID,
    recorded_at: datetime,
) -> None:
    """Record an arrangement for help outside working hours (agreed at `recorded_at`)."""
    await conn.execute(
        """INSERT INTO arrangements (org_id, valid_from, valid_until, agreed_by, note, recorded_by,
                                     recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        org_id,
        arrangement.valid_from,
        arrangement.valid_until,
        arrangement.agreed_by,
        note,
        recorded_by,
        recorded_at,
    )


async def inputs_in_force(conn: Connection, *, org_id: uuid.UUID, at: datetime) -> PolicyInputs:
    """The organization's policy inputs that were true at `at`, whatever order they arrived in:
    the standing with the latest `as_of` not after `at` (of equal ones, the last to arrive), the
    onboarding records true by then, and the arrangements agreed (recorded) by then."""
    standing = await conn.fetchrow(
        """SELECT * FROM standing_history WHERE org_id = $1 AND as_of <= $2
            ORDER BY as_of DESC, id DESC LIMIT 1""",
        org_id,
        at,
    )
    onboarding = await conn.fetch(
        "SELECT * FROM onboarding_records WHERE org_id = $1 AND as_of <= $2 ORDER BY id",
        org_id,
        at,
    )
    arrangements = await conn.fetch(
        "SELECT * FROM arrangements WHERE org_id = $1 AND recorded_at <= $2 ORDER BY id",
        org_id,
        at,
    )
    return PolicyInputs(
        standing=Standing(standing["has_unpaid_obligations"], standing["as_of"])
        if standing
        else None,
        onboarding=tuple(
            Onboarding(
                r["user_id"],
                r["program"],
                r["kind"],
                r["completed_on"],
                r["organization_setup_done"],
            )
            for r in onboarding
        ),
        arrangements=tuple(
            Arrangement(r["valid_from"], r["valid_until"], r["agreed_by"]) for r in arrangements
        ),
    )


async def inputs_history(conn: Connection, *, org_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every recorded input of the organization, for administrators: standing and onboarding by
    when they became true (`as_of`), newest first, each with its arrival (`recorded_at`)."""

    async def rows(query: str) -> list[dict[str, Any]]:
        return [dict(r) for r in await conn.fetch(query, org_id)]

    return {
        "standing": await rows(
            """SELECT has_unpaid_obligations, as_of, recorded_at, source FROM standing_history
                WHERE org_id = $1 ORDER BY as_of DESC, id DESC"""
        ),
        "onboarding": await rows(
            """SELECT user_id, program, kind, completed_on, organization_setup_done, as_of,
                      recorded_at, source FROM onboarding_records WHERE org_id = $1
                ORDER BY as_of DESC, id DESC"""
        ),
        "arrangements": await rows(
            """SELECT valid_from, valid_until, agreed_by, note, recorded_at, recorded_by
                 FROM arrangements WHERE org_id = $1 ORDER BY recorded_at DESC, id DESC"""
        ),
    }


async def most_similar_earlier(
    conn: Connection, *, ticket: BillingTicket, threshold: float
) -> EarlierTicket | None:
    """P-REPEAT: the same organization's earlier, resolved ticket whose text is most similar
    (pg_trgm similarity of subject + description at least `threshold`); the same requester's
    first. Two nearest-neighbour lookups through the trigram GiST indexes (`<->` is
    1 - similarity), one among the requester's tickets and one among all the organization's, so
    the cost stays flat however long the history (migration 004)."""
    row = await conn.fetchrow(
        """SELECT * FROM (
             (SELECT t.ticket_id, t.number, t.subject, true AS same_requester,
                     1 - (t.search_text <-> lower($4)) AS sim
                FROM tickets t
               WHERE t.org_id = $1 AND t.requester_id = $3 AND t.resolved
                 AND t.ticket_id <> $2 AND t.submitted_at < $5
               ORDER BY t.search_text <-> lower($4) LIMIT 1)
             UNION ALL
             (SELECT t.ticket_id, t.number, t.subject, t.requester_id = $3 AS same_requester,
                     1 - (t.search_text <-> lower($4)) AS sim
                FROM tickets t
               WHERE t.org_id = $1 AND t.resolved AND t.ticket_id <> $2 AND t.submitted_at < $5
               ORDER BY t.search_text <-> lower($4) LIMIT 1)
           ) nearest
           WHERE sim >= $6
           ORDER BY same_requester DESC, sim DESC LIMIT 1""",
        ticket.org_id,
        ticket.ticket_id,
        ticket.facts.requester_id,
        f"{ticket.subject} {ticket.body}",
        ticket.facts.submitted_at,
        threshold,
    )
    if row is None:
        return None
    return EarlierTicket(
        row["ticket_id"], row["number"], row["subject"], float(row["sim"]), row["same_requester"]
    )


# --- decisions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredDecision:
    ticket_id: uuid.UUID
    stage: DecisionStage
    org_id: uuid.UUID
    decision: Decision
    reasons: tuple[RuleHit, ...]
    policy_version: str
    deferred_until: datetime | None
    decided_at: datetime
    version: int = 1
    inputs: dict[str, Any] | None = None
    overridden_by: uuid.UUID | None = None
    justification: str | None = None


async def next_decision_version(conn: Connection, *, ticket_id: uuid.UUID) -> int:
    """The version the ticket's next decision gets (call with the ticket row locked)."""
    current = await conn.fetchval(
        "SELECT coalesce(max(version), 0) FROM decisions WHERE ticket_id = $1", ticket_id
    )
    return int(current) + 1


async def insert_decision(
    conn: Connection, *, decision: StoredDecision, source_event_id: uuid.UUID
) -> bool:
    """Store a decision; False when one was made from this event before."""
    inserted = await conn.fetchval(
        """INSERT INTO decisions (ticket_id, stage, org_id, decision, reasons, policy_version,
                                  deferred_until, decided_at, source_event_id, version, inputs,
                                  overridden_by, justification)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10, $11::jsonb, $12, $13)
           ON CONFLICT DO NOTHING RETURNING true""",
        decision.ticket_id,
        decision.stage,
        decision.org_id,
        decision.decision,
        json.dumps([r.model_dump(mode="json") for r in decision.reasons]),
        decision.policy_version,
        decision.deferred_until,
        decision.decided_at,
        source_event_id,
        decision.version,
        json.dumps(decision.inputs or {}, default=str),
        decision.overridden_by,
        decision.justification,
    )
    return bool(inserted)


def _decision(r: asyncpg.Record) -> StoredDecision:
    return StoredDecision(
        ticket_id=r["ticket_id"],
        stage=r["stage"],
        org_id=r["org_id"],
        decision=r["decision"],
        reasons=tuple(RuleHit(**x) for x in json.loads(r["reasons"])),
        policy_version=r["policy_version"],
        deferred_until=r["deferred_until"],
        decided_at=r["decided_at"],
        version=r["version"],
        inputs=json.loads(r["inputs"]),
        overridden_by=r["overridden_by"],
        justification=r["justification"],
    )


async def decisions_for_ticket(
    conn: Connection, *, ticket_id: uuid.UUID, org_id: uuid.UUID | None
) -> list[StoredDecision]:
    """The decisions about one ticket, oldest first, within one organization if given."""
    rows = await conn.fetch(
        """SELECT * FROM decisions WHERE ticket_id = $1 AND ($2::uuid IS NULL OR org_id = $2)
           ORDER BY version""",
        ticket_id,
        org_id,
    )
    return [_decision(r) for r in rows]


# --- statements ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementRow:
    ticket_id: uuid.UUID
    number: int
    subject: str
    resolved_at: datetime
    minutes: int
    reasons: tuple[RuleHit, ...]
    policy_version: str


async def paid_in_month(
    conn: Connection, *, org_id: uuid.UUID, start: datetime, end: datetime
) -> list[StatementRow]:
    """Tickets of the organization last resolved in [start, end) whose current decision is
    paid, with all minutes spent on them; by resolution time."""
    rows = await conn.fetch(
        """WITH latest AS (
               SELECT DISTINCT ON (ticket_id) * FROM decisions
                WHERE org_id = $1 ORDER BY ticket_id, version DESC),
           work AS (
               SELECT ticket_id, max(resolved_at) AS resolved_at, sum(minutes)::int AS minutes
                 FROM resolutions GROUP BY ticket_id)
           SELECT t.ticket_id, t.number, t.subject, w.resolved_at, w.minutes, l.reasons,
                  l.policy_version
             FROM latest l JOIN tickets t USING (ticket_id) JOIN work w USING (ticket_id)
            WHERE l.decision = 'paid' AND l.stage = 'final'
              AND w.resolved_at >= $2 AND w.resolved_at < $3
            ORDER BY w.resolved_at, t.number""",
        org_id,
        start,
        end,
    )
    return [
        StatementRow(
            r["ticket_id"],
            r["number"],
            r["subject"],
            r["resolved_at"],
            r["minutes"],
            tuple(RuleHit(**x) for x in json.loads(r["reasons"])),
            r["policy_version"],
        )
        for r in rows
    ]


async def mark_statement_issued(
    conn: Connection, *, org_id: uuid.UUID, month: date, issued_by: uuid.UUID, issued_at: datetime
) -> bool:
    """Record that the month's statement was issued; False when it was before."""
    inserted = await conn.fetchval(
        """INSERT INTO statements_issued (org_id, month, issued_by, issued_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true""",
        org_id,
        month,
        issued_by,
        issued_at,
    )
    return bool(inserted)
