"""The notification service's subscriptions: envelope -> handler, nothing more (each
handler's annotation names its event: `EventConsumer.handle`)."""

from __future__ import annotations

from functools import partial

from contracts.topics import ACCOUNTS_EVENTS, CONTENT_EVENTS, TICKETS_EVENTS
from services.notify import handlers
from services.runtime.consumer import EventConsumer
from services.runtime.revocation import follow_revocations


def build_consumer(*, portal_url: str) -> EventConsumer:
    """The `notify` consumer group: ticket, account and content events that someone should hear
    about, and the revoked access tokens (services/runtime/revocation.py)."""
    consumer = EventConsumer(
        name="notify", topics=[TICKETS_EVENTS, ACCOUNTS_EVENTS, CONTENT_EVENTS]
    )
    consumer.handles_batch(*handlers.EMAILS)(partial(handlers.queue_emails, portal_url=portal_url))
    consumer.handle(
        partial(handlers.on_release_available, portal_url=portal_url),
        handlers.on_user_created,
        handlers.on_user_language_changed,
        handlers.on_user_deactivated,
        handlers.on_user_reactivated,
    )
    return follow_revocations(consumer)
