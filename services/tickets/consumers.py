"""The tickets service's subscriptions: envelope -> handler, nothing more."""

from __future__ import annotations

from contracts.accounts import (
    OrganizationCreated,
    UserCreated,
    UserDeactivated,
    UserLanguageChanged,
    UserReactivated,
    UserRolesChanged,
)
from contracts.billing import TicketClassified
from contracts.content import AttachmentExpired, AttachmentUploaded
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
    consumer.handles(OrganizationCreated)(directory_handlers.on_organization_created)
    consumer.handles(UserCreated)(directory_handlers.on_user_created)
    consumer.handles(UserDeactivated)(directory_handlers.on_user_deactivated)
    consumer.handles(UserReactivated)(directory_handlers.on_user_reactivated)
    consumer.handles(UserLanguageChanged)(directory_handlers.on_user_language_changed)
    consumer.handles(UserRolesChanged)(directory_handlers.on_user_roles_changed)
    consumer.handles(AttachmentUploaded)(attachment_handlers.on_attachment_uploaded)
    consumer.handles(AttachmentExpired)(attachment_handlers.on_attachment_expired)
    return follow_revocations(consumer)
