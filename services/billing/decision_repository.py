"""The SQL of the policy's decisions and of the monthly statements made of the paid ones
(tables `decisions`, `statements`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from contracts.common import Decision, DecisionStage, RuleHit
from services.runtime.db import Connection, from_row


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


async def insert_decisions(
    conn: Connection, *, decisions: Sequence[tuple[StoredDecision, uuid.UUID]]
) -> set[uuid.UUID]:
    """Store decisions, each with the event it was made from; the source event ids of those
    stored now (one made from the same event before is not stored again)."""
    rows = await conn.fetch(
        """INSERT INTO decisions (ticket_id, stage, org_id, decision, reasons, policy_version,
                                  deferred_until, decided_at, source_event_id, version, inputs,
                                  overridden_by, justification)
           SELECT d.ticket_id, d.stage, d.org_id, d.decision, d.reasons::jsonb, d.policy_version,
                  d.deferred_until, d.decided_at, d.source_event_id, d.version, d.inputs::jsonb,
                  d.overridden_by, d.justification
             FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                         $7::timestamptz[], $8::timestamptz[], $9::uuid[], $10::int[],
                         $11::text[], $12::uuid[], $13::text[])
                  AS d(ticket_id, stage, org_id, decision, reasons, policy_version,
                       deferred_until, decided_at, source_event_id, version, inputs,
                       overridden_by, justification)
           ON CONFLICT DO NOTHING RETURNING source_event_id""",
        [d.ticket_id for d, _ in decisions],
        [d.stage for d, _ in decisions],
        [d.org_id for d, _ in decisions],
        [d.decision for d, _ in decisions],
        [json.dumps([r.model_dump(mode="json") for r in d.reasons]) for d, _ in decisions],
        [d.policy_version for d, _ in decisions],
        [d.deferred_until for d, _ in decisions],
        [d.decided_at for d, _ in decisions],
        [source for _, source in decisions],
        [d.version for d, _ in decisions],
        [json.dumps(d.inputs or {}, default=str) for d, _ in decisions],
        [d.overridden_by for d, _ in decisions],
        [d.justification for d, _ in decisions],
    )
    return {row["source_event_id"] for row in rows}


async def insert_decision(
    conn: Connection, *, decision: StoredDecision, source_event_id: uuid.UUID
) -> bool:
    """Store a decision; False when one was made from this event before."""
    return bool(await insert_decisions(conn, decisions=[(decision, source_event_id)]))


def _reasons(r: asyncpg.Record) -> tuple[RuleHit, ...]:
    return tuple(RuleHit(**x) for x in json.loads(r["reasons"]))


def _decision(r: asyncpg.Record) -> StoredDecision:
    return from_row(StoredDecision, r, reasons=_reasons(r), inputs=json.loads(r["inputs"]))


async def decided(conn: Connection, *, ticket_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The tickets among these that have a decision already."""
    rows = await conn.fetch(
        "SELECT DISTINCT ticket_id FROM decisions WHERE ticket_id = ANY($1::uuid[])",
        list(ticket_ids),
    )
    return {row["ticket_id"] for row in rows}


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
    return [from_row(StatementRow, r, reasons=_reasons(r)) for r in rows]


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
