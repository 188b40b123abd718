"""Recording billing's decisions on the tickets (`TicketClassified`): the decision shown on the
ticket and announced to its requester, and a refusal that ends the wait or the work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import structlog

from contracts.billing import TicketClassified
from services.runtime.consumer import Delivery
from services.runtime.db import Connection
from services.runtime.parking import NotYetKnownError
from services.tickets import domain, repository
from services.tickets.domain import Ticket, Transition

log = structlog.get_logger(__name__)


async def record_classifications(
    conn: Connection, deliveries: Sequence[Delivery[TicketClassified]]
) -> None:
    """Record billing's decisions on their tickets (a refusal ends the wait), ignoring older
    ones; a run of them at once, one statement per step, each ticket's decisions in order."""
    known = await repository.lock_tickets(conn, ticket_ids=[d.event.ticket_id for d in deliveries])
    for delivery in deliveries:
        ticket = known.get(delivery.event.ticket_id)
        if ticket is None or ticket.org_id != delivery.event.org_id:
            raise NotYetKnownError(f"classified ticket {delivery.event.ticket_id} not seen yet")
    changed: dict[uuid.UUID, Ticket] = {}
    timeline: list[tuple[uuid.UUID, Transition]] = []
    for delivery in deliveries:
        ctx, classified = delivery.ctx, delivery.event
        ticket = changed.get(classified.ticket_id) or known[classified.ticket_id]
        steps = domain.record_decision(
            ticket, classified, decision_version=ctx.envelope.aggregate_version, now=ctx.clock.now()
        )
        if not steps:
            log.info(
                "stale decision ignored",
                ticket_id=str(ticket.id),
                decision_version=ctx.envelope.aggregate_version,
            )
            continue
        for updated, event, transition in steps:
            changed[updated.id] = updated
            if transition is not None:
                timeline.append((updated.id, transition))
            await ctx.emit(
                event,
                aggregate_id=updated.id,
                aggregate_version=updated.version,
                org_id=updated.org_id,
            )
    await repository.save_tickets(conn, tickets=list(changed.values()))
    await repository.add_transitions(conn, entries=timeline)
    log.debug("decisions recorded", tickets=len(changed))
