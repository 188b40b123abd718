"""The notification service's subscriptions: envelope -> handler, nothing more."""

from __future__ import annotations

from functools import partial

from contracts.tickets import TicketDecisionRecorded
from contracts.topics import TICKETS_EVENTS
from services.notify import handlers
from services.runtime.consumer import EventConsumer


def build_consumer(*, portal_url: str) -> EventConsumer:
    """The `notify` consumer group: ticket events that someone should hear about."""
    consumer = EventConsumer(name="notify", topics=[TICKETS_EVENTS])
    consumer.handles(TicketDecisionRecorded)(
        partial(handlers.on_decision_recorded, portal_url=portal_url)
    )
    return consumer
