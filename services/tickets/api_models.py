"""The tickets service's HTTP shapes: what a request may carry and what an answer holds (the
routes are in api.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.common import (
    EMAIL_PATTERN,
    Channel,
    Decision,
    DecisionStage,
    Person,
    RuleHit,
    TicketStatus,
    Topic,
)
from contracts.tickets import MAX_ATTACHMENTS_PER_MESSAGE, AuthorRole
from services.runtime.moments import Moment
from services.tickets import archive
from services.tickets.attachment_views import AttachmentOut
from services.tickets.attachments import Attachment
from services.tickets.domain import (
    LifecycleRules,
    Message,
    QueuePlace,
    Resolution,
    Ticket,
    Transition,
)

Text = Annotated[str, Field(min_length=1, max_length=20000)]
Limit = Annotated[int, Query(ge=1, le=100)]
SearchText = Annotated[str | None, Query(min_length=1, max_length=200)]


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    subject: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\r\n]*$")]
    body: Text
    program: Annotated[str | None, Field(max_length=100)] = None
    topic: Topic = "other"
    channel: Channel = "portal"
    requester_email: Annotated[str | None, Field(pattern=EMAIL_PATTERN, max_length=254)] = None
    received_at: Moment | None = None
    """When the customer phoned or wrote (phone and e-mail tickets; default: now). It is the
    submission time for the waiting list and the policy; at most TICKETS_RECEIVED_MAX_AGE_DAYS
    (7) days ago, never in the future."""

    @model_validator(mode="after")
    def _requester_only_for_recorded_tickets(self) -> TicketIn:
        if self.channel == "portal" and self.requester_email is not None:
            raise ValueError(
                "'requester_email' is given only for tickets recorded from phone or e-mail"
            )
        if self.channel == "portal" and self.received_at is not None:
            raise ValueError(
                "a portal ticket is submitted now; 'received_at' is given only for tickets "
                "recorded from phone or e-mail"
            )
        if self.channel != "portal" and self.requester_email is None:
            raise ValueError(
                "a phone or e-mail ticket needs the 'requester_email' of the customer it came from"
            )
        return self


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    resolution: Text
    time_spent_minutes: Annotated[int, Field(ge=0, le=100_000)]
    remote_session: bool = False
    data_correction: bool = False
    training: bool = False
    doc_reference: Annotated[str | None, Field(min_length=1, max_length=500)] = None
    other_remote_service: bool = False

    def recorded(self) -> Resolution:
        """The resolution as the ticket rules record it (the answer is its `text`)."""
        return Resolution(text=self.resolution, **self.model_dump(exclude={"resolution"}))


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Text


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    body: Text
    internal: bool = False
    attachment_ids: list[uuid.UUID] = Field(
        default=[],
        max_length=MAX_ATTACHMENTS_PER_MESSAGE,
        description="Files the caller uploaded to this ticket "
        "(`POST /api/content/tickets/{id}/attachments`) that the message carries.",
    )


class DecisionOut(BaseModel):
    decision: Decision
    stage: DecisionStage
    reasons: list[RuleHit]
    policy_version: str | None
    deferred_until: datetime | None
    decided_at: datetime | None


# Its own model, not ResolveIn's: the answer says `text` where the request says `resolution`.
# The domain's Resolution, the wire's TicketResolved and billing's WorkFacts are the same facts
# in other boundaries (docs/decisions.md, "Each shape once per boundary").
class ResolutionOut(BaseModel):
    text: str
    time_spent_minutes: int
    remote_session: bool
    data_correction: bool
    training: bool
    doc_reference: str | None
    other_remote_service: bool


class TicketOut(BaseModel):
    id: uuid.UUID
    number: int
    org_id: uuid.UUID
    status: TicketStatus
    channel: Channel
    topic: Topic
    subject: str
    body: str
    program: str | None
    requester: Person
    submitted_at: datetime
    consultant: Person | None
    accepted_at: datetime | None
    resolved_at: datetime | None
    resolution: ResolutionOut | None
    closed_at: datetime | None
    refused_at: datetime | None
    reopen_until: datetime | None
    queue_position: int | None = Field(
        description="The place on the waiting list (1 = next) while the ticket waits."
    )
    queue_position_exact: bool | None = Field(
        description="False when more than 100 tickets are ahead: the count stops there, and "
        "`queue_position` is the least the place can be. Null while the ticket does not wait."
    )
    legacy_reference: str | None
    version: int
    decision: DecisionOut | None

    @classmethod
    def of(cls, t: Ticket, rules: LifecycleRules, place: QueuePlace | None = None) -> TicketOut:
        decision = None
        if t.decision is not None and t.decision_stage is not None:
            decision = DecisionOut(
                decision=t.decision,
                stage=t.decision_stage,
                reasons=list(t.decision_reasons),
                policy_version=t.policy_version,
                deferred_until=t.deferred_until,
                decided_at=t.decided_at,
            )
        return cls.model_validate(
            {
                **vars(t),
                "consultant": t.assignee,
                "resolution": ResolutionOut(**vars(t.resolution)) if t.resolution else None,
                "reopen_until": t.reopen_until(rules),
                "queue_position": place.position if place else None,
                "queue_position_exact": place.exact if place else None,
                "decision": decision,
            }
        )


class TimelineEntryOut(BaseModel):
    kind: str
    from_status: TicketStatus | None
    to_status: TicketStatus
    at: datetime
    by: str | None
    note: str | None

    @classmethod
    def of(cls, t: Transition) -> TimelineEntryOut:
        return cls.model_validate({**vars(t), "by": t.actor_name})


class MessageOut(BaseModel):
    id: uuid.UUID
    author_id: uuid.UUID | None
    author_name: str
    author_role: AuthorRole
    internal: bool
    body: str
    posted_at: datetime
    attachments: list[AttachmentOut]

    @classmethod
    def of(cls, m: Message, files: Sequence[Attachment] = ()) -> MessageOut:
        return cls(**vars(m), attachments=[AttachmentOut.of(f) for f in files])


class TicketDetailOut(TicketOut):
    timeline: list[TimelineEntryOut]
    messages: list[MessageOut]


class QueueEntryOut(BaseModel):
    position: int
    available_from: datetime
    ready: bool
    ticket: TicketOut


class ArchivedMessageOut(BaseModel):
    author_name: str
    author_role: str
    body: str
    posted_at: datetime
    attachments: list[AttachmentOut]

    @classmethod
    def of(cls, m: archive.ArchivedMessage) -> ArchivedMessageOut:
        return cls.model_validate(
            {**vars(m), "attachments": [AttachmentOut.of(f) for f in m.attachments]}
        )


class ArchivedTicketOut(archive.ArchivedTicketFields[ArchivedMessageOut]):
    @classmethod
    def of(cls, a: archive.ArchivedTicket) -> ArchivedTicketOut:
        return cls.model_validate(
            {**dict(a), "messages": [ArchivedMessageOut.of(m) for m in a.messages]}
        )


class ImportOut(BaseModel):
    live_created: int
    archived: int
    unchanged: int
    attachments: int = Field(description="Files of the old portal attached to their messages.")
