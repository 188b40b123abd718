"""All SQL of the billing service."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from contracts.common import Decision, DecisionStage, RuleHit
from services.runtime.db import Connection


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


async def insert_decision(
    conn: Connection, *, decision: StoredDecision, source_event_id: uuid.UUID
) -> bool:
    """Store a decision; False when this ticket already has one for that stage."""
    inserted = await conn.fetchval(
        """INSERT INTO decisions (ticket_id, stage, org_id, decision, reasons, policy_version,
                                  deferred_until, decided_at, source_event_id)
           VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)
           ON CONFLICT (ticket_id, stage) DO NOTHING RETURNING true""",
        decision.ticket_id,
        decision.stage,
        decision.org_id,
        decision.decision,
        json.dumps([r.model_dump(mode="json") for r in decision.reasons]),
        decision.policy_version,
        decision.deferred_until,
        decision.decided_at,
        source_event_id,
    )
    return bool(inserted)


async def decisions_for_ticket(
    conn: Connection, *, ticket_id: uuid.UUID, org_id: uuid.UUID | None
) -> list[StoredDecision]:
    """The decisions about one ticket, oldest first, within one organization if given."""
    rows = await conn.fetch(
        """SELECT * FROM decisions WHERE ticket_id = $1 AND ($2::uuid IS NULL OR org_id = $2)
           ORDER BY decided_at""",
        ticket_id,
        org_id,
    )
    return [
        StoredDecision(
            ticket_id=r["ticket_id"],
            stage=r["stage"],
            org_id=r["org_id"],
            decision=r["decision"],
            reasons=tuple(RuleHit(**x) for x in json.loads(r["reasons"])),
            policy_version=r["policy_version"],
            deferred_until=r["deferred_until"],
            decided_at=r["decided_at"],
        )
        for r in rows
    ]
