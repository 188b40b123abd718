"""The tickets service's subscriptions: envelope -> handler, nothing more."""

from __future__ import annotations

from contracts.billing import TicketClassified
from contracts.topics import BILLING_EVENTS
from services.runtime.consumer import EventConsumer
from services.tickets import handlers


def build_consumer() -> EventConsumer:
    """The `tickets` consumer group: billing's decisions."""
    consumer = EventConsumer(name="tickets", topics=[BILLING_EVENTS])
    consumer.handles(TicketClassified)(handlers.record_classification)
    return consumer
