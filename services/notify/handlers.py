"""Use cases of the notification service: turn events into recorded e-mail intents.

An e-mail is rendered here, in the consuming transaction, and only its text is stored: a template
that cannot render fails the handler (retried, then dead-lettered), never the sending.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import structlog

from contracts.accounts import (
    PasswordResetCompleted,
    PasswordResetRequested,
    UserCreated,
    UserDeactivated,
    UserLanguageChanged,
    UserReactivated,
)
from contracts.common import Language, Person
from contracts.tickets import (
    TicketAccepted,
    TicketClosed,
    TicketDecisionRecorded,
    TicketMessagePosted,
    TicketReopened,
    TicketResolved,
)
from services.notify import repository, templates
from services.runtime.consumer import HandlerContext

log = structlog.get_logger(__name__)

Render = Callable[[Language], templates.RenderedEmail]


async def _queue(
    ctx: HandlerContext,
    *,
    to: Person,
    org_id: uuid.UUID,
    render: Render,
    ticket_id: uuid.UUID | None = None,
    sensitive: bool = False,
) -> None:
    """Record one e-mail for the sender, once per event and recipient, in the language the
    recipient chose last (the event's snapshot when notify has not heard of them)."""
    known = await repository.get_recipient(ctx.conn, user_id=to.user_id)
    if known is not None and not known.active and not sensitive:
        log.info("recipient deactivated; no e-mail", user_id=str(to.user_id))
        return
    language: Language = "en" if (known.language if known else to.language) == "en" else "sl"
    rendered = render(language)
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
            language=language,
            subject=rendered.subject,
            body=rendered.body,
            html=rendered.html,
            sensitive=sensitive,
        ),
    )
    log.debug("e-mail queued" if recorded else "e-mail already queued", to=to.email)


async def on_decision_recorded(
    ctx: HandlerContext, event: TicketDecisionRecorded, *, portal_url: str
) -> None:
    """Provisional: the ticket was received (with the expected decision and why). Final: tell
    the requester when help is paid or refused, with the reasons."""
    if event.stage == "final" and event.decision == "free":
        return
    template = (
        templates.ticket_received if event.stage == "provisional" else templates.policy_decision
    )
    await _queue(
        ctx,
        to=event.requester,
        org_id=event.org_id,
        ticket_id=event.ticket_id,
        render=lambda lang: template(event, portal_url=portal_url, language=lang),
    )


async def on_ticket_accepted(
    ctx: HandlerContext, event: TicketAccepted, *, portal_url: str
) -> None:
    """Tell the requester a consultant took the ticket into work."""
    await _queue(
        ctx,
        to=event.requester,
        org_id=event.org_id,
        ticket_id=event.ticket_id,
        render=lambda lang: templates.ticket_accepted(event, portal_url=portal_url, language=lang),
    )


async def on_message_posted(
    ctx: HandlerContext, event: TicketMessagePosted, *, portal_url: str
) -> None:
    """Forward a consultant's message to the requester; internal notes and the customer's own
    messages are not e-mailed."""
    if event.internal or event.author_role != "consultant":
        return
    await _queue(
        ctx,
        to=event.requester,
        org_id=event.org_id,
        ticket_id=event.ticket_id,
        render=lambda lang: templates.consultant_message(
            event, portal_url=portal_url, language=lang
        ),
    )


async def on_ticket_resolved(
    ctx: HandlerContext, event: TicketResolved, *, portal_url: str
) -> None:
    """Send the requester the resolution."""
    if event.requester is None:
        log.warning("TicketResolved without a requester (an early event); no e-mail")
        return
    await _queue(
        ctx,
        to=event.requester,
        org_id=event.org_id,
        ticket_id=event.ticket_id,
        render=lambda lang: templates.ticket_resolved(event, portal_url=portal_url, language=lang),
    )


async def on_ticket_reopened(
    ctx: HandlerContext, event: TicketReopened, *, portal_url: str
) -> None:
    """Tell the consultant who resolved the ticket that the customer reopened it."""
    if event.consultant is None:
        return
    await _queue(
        ctx,
        to=event.consultant,
        org_id=event.org_id,
        ticket_id=event.ticket_id,
        render=lambda lang: templates.ticket_reopened(event, portal_url=portal_url, language=lang),
    )


async def on_ticket_closed(ctx: HandlerContext, event: TicketClosed, *, portal_url: str) -> None:
    """Tell the requester the ticket is closed."""
    await _queue(
        ctx,
        to=event.requester,
        org_id=event.org_id,
        ticket_id=event.ticket_id,
        render=lambda lang: templates.ticket_closed(event, portal_url=portal_url, language=lang),
    )


async def on_password_link(ctx: HandlerContext, event: PasswordResetRequested) -> None:
    """E-mail the password link (reset or invitation). The link is a secret: never logged, and
    the stored body is erased once the e-mail is sent."""
    await _queue(
        ctx,
        to=event.user,
        org_id=event.org_id,
        render=lambda lang: templates.password_link(event, language=lang),
        sensitive=True,
    )


async def on_password_changed(ctx: HandlerContext, event: PasswordResetCompleted) -> None:
    """Confirm to the user that their password was set and their sessions ended."""
    await _queue(
        ctx,
        to=event.user,
        org_id=event.org_id,
        render=lambda lang: templates.password_changed(event, language=lang),
    )


async def on_user_created(ctx: HandlerContext, event: UserCreated) -> None:
    """Remember the user's address and language."""
    await repository.remember_recipient(
        ctx.conn,
        user_id=event.user_id,
        email=event.email,
        language=event.language,
        version=ctx.envelope.aggregate_version,
    )


async def on_user_language_changed(ctx: HandlerContext, event: UserLanguageChanged) -> None:
    """Later e-mails go out in the newly chosen language."""
    await repository.update_recipient(
        ctx.conn,
        user_id=event.user_id,
        version=ctx.envelope.aggregate_version,
        language=event.language,
    )


async def on_user_deactivated(ctx: HandlerContext, event: UserDeactivated) -> None:
    """A deactivated user gets no more ticket e-mails."""
    await repository.update_recipient(
        ctx.conn, user_id=event.user_id, version=ctx.envelope.aggregate_version, active=False
    )


async def on_user_reactivated(ctx: HandlerContext, event: UserReactivated) -> None:
    await repository.update_recipient(
        ctx.conn, user_id=event.user_id, version=ctx.envelope.aggregate_version, active=True
    )
