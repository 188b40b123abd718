"""Use cases of the notification service: turn events into recorded e-mail intents.

An e-mail is rendered here, in the consuming transaction, and only its text is stored: a template
that cannot render fails the handler (retried, then dead-lettered), never the sending.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import structlog

from contracts.accounts import (
    PasswordResetCompleted,
    PasswordResetRequested,
    UserCreated,
    UserDeactivated,
    UserLanguageChanged,
    UserReactivated,
)
from contracts.common import EventModel, Language, Person
from contracts.content import ReleaseAvailable
from contracts.envelope import EventEnvelope
from contracts.tickets import (
    TicketAccepted,
    TicketClosed,
    TicketDecisionRecorded,
    TicketMessagePosted,
    TicketReopened,
    TicketResolved,
)
from services.notify import repository, templates
from services.runtime.consumer import Delivery, HandlerContext
from services.runtime.db import Connection

log = structlog.get_logger(__name__)

Render = Callable[[Language], templates.RenderedEmail]


@dataclass(frozen=True)
class EmailRequest:
    """An e-mail an event calls for: to whom, and how to render it in a language."""

    to: Person
    org_id: uuid.UUID
    render: Render
    ticket_id: uuid.UUID | None = None
    sensitive: bool = False
    """It carries a secret (a password link): sent even to a deactivated user, body erased
    after sending, never logged."""


EmailFor = Callable[[Any, str], EmailRequest | None]
"""(event, portal URL) -> the e-mail it calls for, or None."""


@dataclass(frozen=True)
class TicketEmail:
    """An e-mail about the event's ticket: `template(event, portal_url=, language=)` to the
    person `to(event)` names, when there is one and `when(event)` holds."""

    template: Callable[..., templates.RenderedEmail]
    to: Callable[[Any], Person | None]
    when: Callable[[Any], bool] = lambda event: True

    def __call__(self, event: Any, portal_url: str) -> EmailRequest | None:
        to = self.to(event)
        if to is None or not self.when(event):
            log.debug("the event calls for no e-mail", event_type=event.EVENT_TYPE)
            return None
        return EmailRequest(
            to,
            event.org_id,
            lambda lang: self.template(event, portal_url=portal_url, language=lang),
            event.ticket_id,
        )


@dataclass(frozen=True)
class AccountEmail:
    """An e-mail to the event's user: `template(event, language=)`; a `sensitive` one carries
    a secret (never logged, its stored body erased once sent)."""

    template: Callable[..., templates.RenderedEmail]
    sensitive: bool = False

    def __call__(self, event: Any, portal_url: str) -> EmailRequest | None:
        return EmailRequest(
            event.user,
            event.org_id,
            lambda lang: self.template(event, language=lang),
            sensitive=self.sensitive,
        )


_REQUESTER = attrgetter("requester")
_RECEIVED = TicketEmail(templates.ticket_received, _REQUESTER)
_DECIDED = TicketEmail(
    templates.policy_decision, _REQUESTER, when=lambda event: event.decision != "free"
)


def decision_recorded(event: TicketDecisionRecorded, portal_url: str) -> EmailRequest | None:
    """Provisional: the ticket was received (with the expected decision and why). Final: tell
    the requester when help is paid or refused, with the reasons."""
    return (_RECEIVED if event.stage == "provisional" else _DECIDED)(event, portal_url)


EMAILS: dict[type[EventModel], EmailFor] = {
    TicketDecisionRecorded: decision_recorded,
    # A consultant took the ticket into work.
    TicketAccepted: TicketEmail(templates.ticket_accepted, _REQUESTER),
    # A consultant's message; internal notes and the customer's own messages are not e-mailed.
    TicketMessagePosted: TicketEmail(
        templates.consultant_message,
        _REQUESTER,
        when=lambda event: not event.internal and event.author_role == "consultant",
    ),
    # The resolution (an early TicketResolved has no requester, and no e-mail).
    TicketResolved: TicketEmail(templates.ticket_resolved, _REQUESTER),
    # To the consultant who resolved it: the customer reopened it.
    TicketReopened: TicketEmail(templates.ticket_reopened, attrgetter("consultant")),
    TicketClosed: TicketEmail(templates.ticket_closed, _REQUESTER),
    # The password link (reset or invitation; the link in the event is absolute) is a secret.
    PasswordResetRequested: AccountEmail(templates.password_link, sensitive=True),
    # Their password was set and their sessions ended.
    PasswordResetCompleted: AccountEmail(templates.password_changed),
}
"""Every event that can call for an e-mail to one person, and what decides which one."""


def _intent(
    envelope: EventEnvelope,
    *,
    to: tuple[uuid.UUID, str],
    org_id: uuid.UUID,
    language: Language,
    rendered: templates.RenderedEmail,
    ticket_id: uuid.UUID | None = None,
    sensitive: bool = False,
) -> repository.EmailIntent:
    """The e-mail one event calls for to one recipient (user id, address): at most one per
    event and address, however often the event is delivered."""
    user_id, address = to
    return repository.EmailIntent(
        dedupe_key=f"{envelope.event_id}:{address}",
        event_id=envelope.event_id,
        event_type=envelope.event_type,
        org_id=org_id,
        ticket_id=ticket_id,
        recipient_id=user_id,
        recipient=address,
        language=language,
        subject=rendered.subject,
        body=rendered.body,
        html=rendered.html,
        sensitive=sensitive,
    )


async def queue_emails(
    conn: Connection, deliveries: Sequence[Delivery[EventModel]], *, portal_url: str
) -> None:
    """Record the e-mails a run of events calls for, each once per event and recipient, in the
    language the recipient chose last (the event's snapshot when notify has not heard of them);
    one lookup of the recipients and one insert for the whole run. A template that cannot
    render fails the run (the consumer then retries the events one by one)."""
    wanted = [
        (delivery.ctx.envelope, request)
        for delivery in deliveries
        if (request := EMAILS[type(delivery.event)](delivery.event, portal_url)) is not None
    ]
    if not wanted:
        return
    known = await repository.get_recipients(conn, user_ids={r.to.user_id for _, r in wanted})
    intents = []
    for envelope, request in wanted:
        recipient = known.get(request.to.user_id)
        if recipient is not None and not recipient.active and not request.sensitive:
            log.info("recipient deactivated; no e-mail", user_id=str(request.to.user_id))
            continue
        chosen = recipient.language if recipient else request.to.language
        language: Language = "en" if chosen == "en" else "sl"
        intents.append(
            _intent(
                envelope,
                to=(request.to.user_id, request.to.email),
                org_id=request.org_id,
                language=language,
                rendered=request.render(language),
                ticket_id=request.ticket_id,
                sensitive=request.sensitive,
            )
        )
    recorded = await repository.record_intents(conn, intents=intents)
    log.debug("e-mails queued", queued=recorded, already_queued=len(intents) - recorded)


async def on_release_available(
    ctx: HandlerContext, event: ReleaseAvailable, *, portal_url: str
) -> None:
    """Tell every active user of the licensed organization who has not turned these e-mails
    off, once each, in their language."""
    recipients = await repository.release_recipients(ctx.conn, org_id=event.org_id)
    envelope = ctx.envelope
    intents = []
    for recipient in recipients:
        language: Language = "en" if recipient.language == "en" else "sl"
        intents.append(
            _intent(
                envelope,
                to=(recipient.user_id, recipient.email),
                org_id=event.org_id,
                language=language,
                rendered=templates.release_available(
                    event, portal_url=portal_url, language=language
                ),
            )
        )
    recorded = await repository.record_intents(ctx.conn, intents=intents)
    log.debug("release e-mails queued", release_id=str(event.release_id), queued=recorded)


async def on_user_created(ctx: HandlerContext, event: UserCreated) -> None:
    """Remember the user's organization, address and language."""
    await repository.remember_recipient(
        ctx.conn,
        user_id=event.user_id,
        org_id=event.org_id,
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
