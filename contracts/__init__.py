"""What crosses service boundaries: the event envelope, event payloads and topic names.

Depends on pydantic only. Readers ignore unknown fields; a breaking change is a new event version.
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
