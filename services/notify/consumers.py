"""The notification service's subscriptions: envelope -> handler, nothing more."""

from __future__ import annotations

from functools import partial

from contracts.accounts import PasswordResetCompleted, PasswordResetRequested
from contracts.tickets import TicketDecisionRecorded
from contracts.topics import ACCOUNTS_EVENTS, TICKETS_EVENTS
from services.notify import handlers
from services.runtime.consumer import EventConsumer


def build_consumer(*, portal_url: str) -> EventConsumer:
    """The `notify` consumer group: ticket and account events that someone should hear about."""
    consumer = EventConsumer(name="notify", topics=[TICKETS_EVENTS, ACCOUNTS_EVENTS])
    consumer.handles(TicketDecisionRecorded)(
        partial(handlers.on_decision_recorded, portal_url=portal_url)
    )
    consumer.handles(PasswordResetRequested)(handlers.on_password_link)
    consumer.handles(PasswordResetCompleted)(handlers.on_password_changed)
    return consumer
