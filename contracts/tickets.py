"""Events the tickets service publishes (topic `tickets.events`, key = ticket id)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import AwareDatetime, Field

from contracts.common import Channel, Decision, DecisionStage, EventModel, Person, RuleHit


class TicketCreated(EventModel):
    """A help request was stored: submitted on the portal, or recorded by a consultant."""

    EVENT_TYPE: ClassVar[str] = "TicketCreated"
    EVENT_VERSION: ClassVar[int] = 1

    ticket_id: uuid.UUID
    number: int = Field(ge=1)
    org_id: uuid.UUID
    requester: Person
    channel: Channel
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20000)
    program: str | None = Field(default=None, max_length=100)
    submitted_at: AwareDatetime
    recorded_by: uuid.UUID | None = None


class TicketDecisionRecorded(EventModel):
    """The tickets service recorded a policy decision on the ticket (notify tells the requester)."""

    EVENT_TYPE: ClassVar[str] = "TicketDecisionRecorded"
    EVENT_VERSION: ClassVar[int] = 1

    ticket_id: uuid.UUID
    number: int = Field(ge=1)
    org_id: uuid.UUID
    requester: Person
    subject: str = Field(min_length=1, max_length=200)
    stage: DecisionStage
    decision: Decision
    reasons: tuple[RuleHit, ...]
    policy_version: str
    deferred_until: AwareDatetime | None = None


class TicketResolved(EventModel):
    """A consultant resolved the ticket; billing makes its final decision from this."""

    EVENT_TYPE: ClassVar[str] = "TicketResolved"
    EVENT_VERSION: ClassVar[int] = 1

    ticket_id: uuid.UUID
    org_id: uuid.UUID
    resolved_at: AwareDatetime
    resolved_by: uuid.UUID
    resolution: str = Field(min_length=1, max_length=20000)
    time_spent_minutes: int = Field(ge=0, le=100_000)
    remote_session: bool = False
    data_correction: bool = False
    training: bool = False
    doc_reference: str | None = Field(default=None, max_length=500)
