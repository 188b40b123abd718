"""The content service's subscriptions: envelope -> handler, nothing more (each handler's
annotation names its event: `EventConsumer.handle`)."""

from __future__ import annotations

from contracts.topics import ERP_EVENTS, TICKETS_EVENTS, TRAINING_EVENTS
from services.content import attachment_handlers, handlers
from services.runtime.consumer import EventConsumer
from services.runtime.revocation import follow_revocations


def build_consumer() -> EventConsumer:
    """The `content` consumer group: licences from the ERP, training orders, the tickets and
    messages files are attached to, and the revoked access tokens
    (services/runtime/revocation.py)."""
    consumer = EventConsumer(name="content", topics=[ERP_EVENTS, TRAINING_EVENTS, TICKETS_EVENTS])
    consumer.handle(
        handlers.on_licence_changed,
        handlers.on_training_order_changed,
        attachment_handlers.on_ticket_created,
        attachment_handlers.on_message_posted,
        attachment_handlers.on_attachments_imported,
    )
    return follow_revocations(consumer)
