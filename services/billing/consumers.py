"""The billing service's subscriptions: envelope -> handler, nothing more."""

from __future__ import annotations

from functools import partial

from contracts.tickets import TicketCreated
from contracts.topics import TICKETS_EVENTS
from services.billing import handlers
from services.billing.policy import PolicyParameters
from services.runtime.consumer import EventConsumer


def build_consumer(params: PolicyParameters) -> EventConsumer:
    """The `billing` consumer group: new tickets to classify."""
    consumer = EventConsumer(name="billing", topics=[TICKETS_EVENTS])
    consumer.handles(TicketCreated)(partial(handlers.classify_new_ticket, params=params))
    return consumer
