"""Use cases of the notification service: turn events into recorded e-mail intents."""

from __future__ import annotations

import uuid

import structlog

from contracts.accounts import PasswordResetCompleted, PasswordResetRequested
from contracts.common import Person
from contracts.tickets import TicketDecisionRecorded
from services.notify import repository, templates
from services.runtime.consumer import HandlerContext

log = structlog.get_logger(__name__)


async def _queue(
    ctx: HandlerContext,
    *,
    to: Person,
    org_id: uuid.UUID,
    rendered: templates.RenderedEmail,
    ticket_id: uuid.UUID | None = None,
    sensitive: bool = False,
) -> None:
    """Record one e-mail for the sender, once per event and recipient."""
    recorded = await repository.record_intent(
        ctx.conn,
        intent=repository.EmailIntent(
            dedupe_key=f"{ctx.envelope.event_id}:{to.email}",
            event_id=ctx.envelope.event_id,
            event_type=ctx.envelope.event_type,
            org_id=org_id,
            ticket_id=ticket_id,
            recipient_id=to.user_id,
            recipient=to.email,
            language=to.language,
            subject=rendered.subject,
            body=rendered.body,
            sensitive=sensitive,
        ),
    )
    log.info("e-mail queued" if recorded else "e-mail already queued", to=to.email)


async def on_decision_recorded(
    ctx: HandlerContext, event: TicketDecisionRecorded, *, portal_url: str
) -> None:
    """Tell the requester their ticket was received, with the provisional decision and why."""
    if event.stage != "provisional":
        return  # the final decision's e-mail comes with the notifications issue
    await _queue(
        ctx,
        to=event.requester,
        org_id=event.org_id,
        ticket_id=event.ticket_id,
        rendered=templates.ticket_received(event, portal_url=portal_url),
    )


async def on_password_link(ctx: HandlerContext, event: PasswordResetRequested) -> None:
    """E-mail the password link (reset or invitation). The link is a secret: never logged, and
    the stored body is erased once the e-mail is sent."""
    await _queue(
        ctx,
        to=event.user,
        org_id=event.org_id,
        rendered=templates.password_link(event),
        sensitive=True,
    )


async def on_password_changed(ctx: HandlerContext, event: PasswordResetCompleted) -> None:
    """Confirm to the user that their password was set and their sessions ended."""
    await _queue(
        ctx, to=event.user, org_id=event.org_id, rendered=templates.password_changed(event)
    )
