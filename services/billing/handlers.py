"""Use cases of the billing service."""

from __future__ import annotations

from datetime import UTC, datetime

import structlog

from contracts.billing import TicketClassified
from contracts.tickets import TicketCreated
from services.billing import repository
from services.billing.policy import PolicyParameters, TicketFacts, provisional_decision
from services.runtime.consumer import HandlerContext

log = structlog.get_logger(__name__)

PROVISIONAL_VERSION = 1  # aggregate version of a ticket's provisional decision; final is 2


async def classify_new_ticket(
    ctx: HandlerContext, created: TicketCreated, params: PolicyParameters
) -> None:
    """Make the provisional decision for a new ticket and publish it."""
    outcome = provisional_decision(
        TicketFacts(channel=created.channel, submitted_at=created.submitted_at), params
    )
    stored = repository.StoredDecision(
        ticket_id=created.ticket_id,
        stage="provisional",
        org_id=created.org_id,
        decision=outcome.decision,
        reasons=outcome.reasons,
        policy_version=outcome.policy_version,
        deferred_until=outcome.deferred_until,
        decided_at=datetime.now(UTC),
    )
    if not await repository.insert_decision(
        ctx.conn, decision=stored, source_event_id=ctx.envelope.event_id
    ):
        log.info("ticket already has a provisional decision")
        return
    await ctx.emit(
        TicketClassified(
            ticket_id=stored.ticket_id,
            org_id=stored.org_id,
            stage=stored.stage,
            decision=stored.decision,
            reasons=stored.reasons,
            policy_version=stored.policy_version,
            decided_at=stored.decided_at,
            deferred_until=stored.deferred_until,
        ),
        aggregate_id=stored.ticket_id,
        aggregate_version=PROVISIONAL_VERSION,
        org_id=stored.org_id,
    )
    log.info("ticket classified", decision=stored.decision, codes=[r.code for r in stored.reasons])
