"""The tickets service's subscriptions: envelope -> handler, nothing more (each handler's
annotation names its event: `EventConsumer.handle`)."""

from __future__ import annotations

from contracts.billing import TicketClassified
from contracts.topics import ACCOUNTS_EVENTS, BILLING_EVENTS, CONTENT_EVENTS
from services.runtime.consumer import EventConsumer
from services.runtime.revocation import follow_revocations
from services.tickets import attachment_handlers, decision_handlers, directory_handlers


def build_consumer() -> EventConsumer:
    """The `tickets` consumer group: billing's decisions, the accounts directory, the files
    uploaded to tickets, and the revoked access tokens (services/runtime/revocation.py)."""
    consumer = EventConsumer(
        name="tickets", topics=[BILLING_EVENTS, ACCOUNTS_EVENTS, CONTENT_EVENTS]
    )
    consumer.handles_batch(TicketClassified)(decision_handlers.record_classifications)
    consumer.handle(
        directory_handlers.on_organization_created,
        directory_handlers.on_user_created,
        directory_handlers.on_user_deactivated,
        directory_handlers.on_user_reactivated,
        directory_handlers.on_user_language_changed,
        directory_handlers.on_user_roles_changed,
        attachment_handlers.on_attachment_uploaded,
        attachment_handlers.on_attachment_expired,
    )
    return follow_revocations(consumer)
