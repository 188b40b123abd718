"""The content service's subscriptions: envelope -> handler, nothing more."""

from __future__ import annotations

from contracts.content import ProgramLicenceChanged, TrainingOrderChanged
from contracts.tickets import TicketAttachmentsImported, TicketCreated, TicketMessagePosted
from contracts.topics import ERP_EVENTS, TICKETS_EVENTS, TRAINING_EVENTS
from services.content import attachment_handlers, handlers
from services.runtime.consumer import EventConsumer
from services.runtime.revocation import follow_revocations


def build_consumer() -> EventConsumer:
    """The `content` consumer group: licences from the ERP, training orders, the tickets and
    messages files are attached to, and the revoked access tokens
    (services/runtime/revocation.py)."""
    consumer = EventConsumer(name="content", topics=[ERP_EVENTS, TRAINING_EVENTS, TICKETS_EVENTS])
    consumer.handles(ProgramLicenceChanged)(handlers.on_licence_changed)
    consumer.handles(TrainingOrderChanged)(handlers.on_training_order_changed)
    consumer.handles(TicketCreated)(attachment_handlers.on_ticket_created)
    consumer.handles(TicketMessagePosted)(attachment_handlers.on_message_posted)
    consumer.handles(TicketAttachmentsImported)(attachment_handlers.on_attachments_imported)
    return follow_revocations(consumer)
