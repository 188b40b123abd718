"""The content service's subscriptions: envelope -> handler, nothing more."""

from __future__ import annotations

from contracts.content import ProgramLicenceChanged, TrainingOrderChanged
from contracts.topics import ERP_EVENTS, TRAINING_EVENTS
from services.content import handlers
from services.runtime.consumer import EventConsumer


def build_consumer() -> EventConsumer:
    """The `content` consumer group: licences from the ERP, training orders."""
    consumer = EventConsumer(name="content", topics=[ERP_EVENTS, TRAINING_EVENTS])
    consumer.handles(ProgramLicenceChanged)(handlers.on_licence_changed)
    consumer.handles(TrainingOrderChanged)(handlers.on_training_order_changed)
    return consumer
