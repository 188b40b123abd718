"""Topic names, and who publishes to each topic.

Which events go to a topic is said by the event classes (`TOPIC`); `contracts.registry` derives
the topic of every event type from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

TICKETS_EVENTS: Final = "tickets.events"
BILLING_EVENTS: Final = "billing.events"
ACCOUNTS_EVENTS: Final = "accounts.events"
ERP_EVENTS: Final = "erp.events"
TRAINING_EVENTS: Final = "training.events"
CONTENT_EVENTS: Final = "content.events"
DEAD_LETTER: Final = "ticketing.dead-letter"


@dataclass(frozen=True)
class TopicSpec:
    """A topic and its one producer: a service, or an internal system outside this project."""

    name: str
    producer: str | None
    """The service that publishes to it (or the Kafka user of the outside system that does);
    None: every service, each the records it failed to handle (the dead-letter topic)."""
    outside_system: str | None = None
    """The outside system that publishes to it, in words ("the ERP"); None: a service does."""
    key: str | None = None
    """The record key in words, for a topic no event class is published to."""


TOPICS: Final = (
    TopicSpec(TICKETS_EVENTS, producer="tickets"),
    TopicSpec(BILLING_EVENTS, producer="billing"),
    TopicSpec(ACCOUNTS_EVENTS, producer="auth"),
    TopicSpec(ERP_EVENTS, producer="erp", outside_system="the ERP"),
    TopicSpec(TRAINING_EVENTS, producer="training", outside_system="the training system"),
    TopicSpec(CONTENT_EVENTS, producer="content"),
    TopicSpec(DEAD_LETTER, producer=None, key="the key of the record that failed"),
)

ALL_TOPICS: Final = tuple(topic.name for topic in TOPICS)


def produced_by(producer: str) -> list[str]:
    """The topics a service (or an outside system's Kafka user) publishes to."""
    return [topic.name for topic in TOPICS if topic.producer == producer]
