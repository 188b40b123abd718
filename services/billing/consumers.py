"""The billing service's subscriptions: envelope -> handler, nothing more (each handler's
annotation names its event: `EventConsumer.handle`)."""

from __future__ import annotations

from functools import partial

from contracts.tickets import TicketCreated
from contracts.topics import ERP_EVENTS, TICKETS_EVENTS, TRAINING_EVENTS
from services.billing import handlers, inputs
from services.billing.policy import PolicyParameters
from services.runtime.consumer import EventConsumer
from services.runtime.revocation import follow_revocations


def build_consumer(params: PolicyParameters) -> EventConsumer:
    """The `billing` consumer group: tickets to classify, the policy inputs, and the
    revoked access tokens (services/runtime/revocation.py)."""
    consumer = EventConsumer(name="billing", topics=[TICKETS_EVENTS, ERP_EVENTS, TRAINING_EVENTS])
    consumer.handles_batch(TicketCreated)(partial(handlers.classify_new_tickets, params=params))
    consumer.handle(
        partial(handlers.classify_resolved_ticket, params=params),
        inputs.on_standing_changed,
        partial(inputs.on_onboarding_recorded, params=params),
    )
    return follow_revocations(consumer)
