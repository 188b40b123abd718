"""The envelope every event travels in (docs/reliability.md promise 11)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from contracts.common import EventModel


class EventEnvelope(BaseModel):
    """One event as stored in an outbox and published: metadata plus the typed payload as JSON.

    `aggregate_id` is the Kafka key: for ticket events it is the ticket id, so one ticket's events
    stay in one partition and keep their order; `aggregate_version` lets readers ignore stale ones.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: uuid.UUID
    event_type: str = Field(min_length=1, max_length=100)
    event_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    source: str = Field(min_length=1, max_length=50)
    aggregate_id: str = Field(min_length=1, max_length=100)
    aggregate_version: int = Field(ge=0)
    org_id: uuid.UUID | None = None
    correlation_id: str = Field(min_length=1, max_length=200)
    causation_id: uuid.UUID | None = None
    payload: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @property
    def key(self) -> str:
        """The partitioning key."""
        return self.aggregate_id


def new_envelope(
    payload: EventModel,
    *,
    source: str,
    aggregate_id: str | uuid.UUID,
    aggregate_version: int,
    org_id: uuid.UUID | None,
    correlation_id: str,
    occurred_at: datetime,
    causation_id: uuid.UUID | None = None,
    event_type: str | None = None,
    event_version: int | None = None,
) -> EventEnvelope:
    """Wrap a payload in a fresh envelope with a new event id; the event type and version are
    the payload class's (`EVENT_TYPE`, `EVENT_VERSION`) unless given."""
    return EventEnvelope(
        event_id=uuid.uuid4(),
        event_type=payload.EVENT_TYPE if event_type is None else event_type,
        event_version=payload.EVENT_VERSION if event_version is None else event_version,
        occurred_at=occurred_at,
        source=source,
        aggregate_id=str(aggregate_id),
        aggregate_version=aggregate_version,
        org_id=org_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        payload=payload.model_dump(mode="json"),
    )
