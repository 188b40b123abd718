"""Use cases of the notification service: turn events into recorded e-mail intents."""

from __future__ import annotations

import structlog

from contracts.tickets import TicketDecisionRecorded
from services.notify import repository, templates
from services.runtime.consumer import HandlerContext

log = structlog.get_logger(__name__)


async def on_decision_recorded(
    ctx: HandlerContext, event: TicketDecisionRecorded, *, portal_url: str
) -> None:
    """Tell the requester their ticket was received, with the provisional decision and why."""
    if event.stage != "provisional":
        return  # the final decision's e-mail comes with the notifications issue
    rendered = templates.ticket_received(event, portal_url=portal_url)
    recorded = await repository.record_intent(
        ctx.conn,
        intent=repository.EmailIntent(
            dedupe_key=f"{ctx.envelope.event_id}:{event.requester.email}",
            event_id=ctx.envelope.event_id,
            event_type=ctx.envelope.event_type,
            org_id=event.org_id,
            ticket_id=event.ticket_id,
            recipient_id=event.requester.user_id,
            recipient=event.requester.email,
            language=event.requester.language,
            subject=rendered.subject,
            body=rendered.body,
        ),
    )
    log.info("e-mail queued" if recorded else "e-mail already queued", to=event.requester.email)
