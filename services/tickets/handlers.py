"""Use cases of the tickets service: load -> decide -> save state and outbox rows together."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import structlog

from contracts.billing import TicketClassified
from contracts.common import Channel, Person
from services.runtime.consumer import HandlerContext
from services.runtime.context import current_correlation_id
from services.runtime.identity import Principal
from services.runtime.outbox import emit
from services.tickets import domain, repository
from services.tickets.domain import Ticket

log = structlog.get_logger(__name__)

SOURCE = "tickets"


async def create_ticket(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    requester: Person,
    org_id: uuid.UUID,
    subject: str,
    body: str,
    program: str | None,
    channel: Channel,
) -> Ticket:
    """Store a ticket and its TicketCreated event in one transaction."""
    new = domain.open_ticket(
        requester=requester,
        org_id=org_id,
        subject=subject,
        body=body,
        program=program,
        channel=channel,
        recorded_by=principal.user_id if channel != "portal" else None,
        recorder_is_staff=principal.is_staff,
        now=datetime.now(UTC),
    )
    async with pool.acquire() as conn, conn.transaction():
        ticket = await repository.insert_ticket(conn, new=new)
        await emit(
            conn,
            domain.created_event(ticket),
            source=SOURCE,
            aggregate_id=ticket.id,
            aggregate_version=ticket.version,
            org_id=ticket.org_id,
            correlation_id=current_correlation_id(),
        )
    log.info("ticket created", ticket_id=str(ticket.id), number=ticket.number, channel=channel)
    return ticket


async def record_classification(ctx: HandlerContext, classified: TicketClassified) -> None:
    """Record billing's decision on the ticket and tell the requester's side (notify) about it."""
    try:
        ticket = await repository.get_ticket(
            ctx.conn, ticket_id=classified.ticket_id, org_id=classified.org_id, for_update=True
        )
    except repository.NotFoundError:
        raise LookupError(f"classified ticket {classified.ticket_id} does not exist") from None
    outcome = domain.record_decision(
        ticket, classified, decision_version=ctx.envelope.aggregate_version
    )
    if outcome is None:
        log.info("stale decision ignored", decision_version=ctx.envelope.aggregate_version)
        return
    updated, event = outcome
    await repository.save_decision(ctx.conn, ticket=updated)
    await ctx.emit(
        event, aggregate_id=updated.id, aggregate_version=updated.version, org_id=updated.org_id
    )
