"""HTTP routes of the billing service."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from contracts.common import Decision, DecisionStage, RuleHit
from services.billing import repository
from services.runtime.app import Pool
from services.runtime.identity import CurrentPrincipal


class DecisionOut(BaseModel):
    ticket_id: uuid.UUID
    stage: DecisionStage
    decision: Decision
    reasons: list[RuleHit]
    policy_version: str
    deferred_until: datetime | None
    decided_at: datetime


router = APIRouter(prefix="/api/billing", tags=["billing"])


@router.get("/tickets/{ticket_id}/decisions", response_model=list[DecisionOut])
async def ticket_decisions(
    ticket_id: uuid.UUID, principal: CurrentPrincipal, pool: Pool
) -> list[DecisionOut]:
    """The policy decisions about one ticket of the caller's organization, with their reasons."""
    async with pool.acquire() as conn:
        found = await repository.decisions_for_ticket(
            conn, ticket_id=ticket_id, org_id=principal.org_scope
        )
    if not found:
        raise HTTPException(404, "No decision about this ticket (yet).")
    return [
        DecisionOut(
            ticket_id=d.ticket_id,
            stage=d.stage,
            decision=d.decision,
            reasons=list(d.reasons),
            policy_version=d.policy_version,
            deferred_until=d.deferred_until,
            decided_at=d.decided_at,
        )
        for d in found
    ]
