"""The notification service's subscriptions: envelope -> handler, nothing more."""

from __future__ import annotations

from functools import partial

from contracts.accounts import (
    PasswordResetCompleted,
    PasswordResetRequested,
    UserCreated,
    UserDeactivated,
    UserLanguageChanged,
    UserReactivated,
)
from contracts.tickets import (
    TicketAccepted,
    TicketClosed,
    TicketDecisionRecorded,
    TicketMessagePosted,
    TicketReopened,
    TicketResolved,
)
from contracts.topics import ACCOUNTS_EVENTS, TICKETS_EVENTS
from services.notify import handlers
from services.runtime.consumer import EventConsumer


def build_consumer(*, portal_url: str) -> EventConsumer:
    """The `notify` consumer group: ticket and account events that someone should hear about."""
    consumer = EventConsumer(name="notify", topics=[TICKETS_EVENTS, ACCOUNTS_EVENTS])
    for model, handler in (
        (TicketDecisionRecorded, handlers.on_decision_recorded),
        (TicketAccepted, handlers.on_ticket_accepted),
        (TicketMessagePosted, handlers.on_message_posted),
        (TicketResolved, handlers.on_ticket_resolved),
        (TicketReopened, handlers.on_ticket_reopened),
        (TicketClosed, handlers.on_ticket_closed),
    ):
        consumer.handles(model)(partial(handler, portal_url=portal_url))
    consumer.handles(PasswordResetRequested)(handlers.on_password_link)
    consumer.handles(PasswordResetCompleted)(handlers.on_password_changed)
    consumer.handles(UserCreated)(handlers.on_user_created)
    consumer.handles(UserLanguageChanged)(handlers.on_user_language_changed)
    consumer.handles(UserDeactivated)(handlers.on_user_deactivated)
    consumer.handles(UserReactivated)(handlers.on_user_reactivated)
    return consumer
