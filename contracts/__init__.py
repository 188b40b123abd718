"""What crosses service boundaries: the event envelope, event payloads and topic names.

Depends on pydantic only. Readers ignore unknown fields; a breaking change is a new event version.

A new event is one class in the module of its producer, deriving from `EventModel` or a base of
its topic (`TicketSummaryEvent`, `UserEvent`, ...) and naming its `EVENT_TYPE`, `EVENT_VERSION`,
`TOPIC` and `KEY` (a base may name the last two), plus one stored envelope in
tests/contract/fixtures; the registry, the topic of each event type, the AsyncAPI document and
the manifests follow (`ticketing docs`). A new topic is one `TopicSpec` in contracts/topics.py.
"""

from contracts.envelope import EventEnvelope, new_envelope
from contracts.registry import (
    EVENT_MODELS,
    EventPayload,
    UnknownEventTypeError,
    UnsupportedEventVersionError,
    model_for,
)

__all__ = [
    "EVENT_MODELS",
    "EventEnvelope",
    "EventPayload",
    "UnknownEventTypeError",
    "UnsupportedEventVersionError",
    "model_for",
    "new_envelope",
]
