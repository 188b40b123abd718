"""Events the tickets service publishes (topic `tickets.events`, key = ticket id).

Every one derives from `TicketsEvent`, which names the topic and the key; those that carry the
ticket's summary (number, organization, requester, subject) from `TicketSummaryEvent`.
"""

from __future__ import annotations

import uuid
from typing import ClassVar, Final, Literal

from pydantic import AwareDatetime, Field

from contracts.common import (
    TICKET_ID,
    Channel,
    Decision,
    DecisionStage,
    EventKey,
    EventModel,
    Person,
    RuleHit,
    Topic,
)
from contracts.topics import TICKETS_EVENTS

AuthorRole = Literal["customer", "consultant"]

MAX_ATTACHMENTS_PER_MESSAGE: Final = 10
"""How many files one message (or internal note) may carry."""
MAX_ATTACHMENTS_PER_IMPORTED_TICKET: Final = 200


class TicketsEvent(EventModel):
    """An event on `tickets.events`, keyed by its ticket so that one ticket's events keep their
    order."""

    TOPIC: ClassVar[str] = TICKETS_EVENTS
    KEY: ClassVar[EventKey | None] = TICKET_ID


class TicketSummaryEvent(TicketsEvent):
    """An event that carries what every reader shows of its ticket (notify's e-mails, the
    directories): the number, the organization, the requester and the subject."""

    ticket_id: uuid.UUID
    number: int = Field(ge=1)
    org_id: uuid.UUID
    requester: Person
    subject: str = Field(min_length=1, max_length=200)


class TicketCreated(TicketSummaryEvent):
    """A help request was stored: submitted on the portal, or recorded by a consultant."""

    EVENT_TYPE: ClassVar[str] = "TicketCreated"
    EVENT_VERSION: ClassVar[int] = 1

    channel: Channel
    body: str = Field(min_length=1, max_length=20000)
    program: str | None = Field(default=None, max_length=100)
    submitted_at: AwareDatetime
    recorded_by: uuid.UUID | None = None
    topic: Topic = "other"
    legacy_reference: str | None = Field(default=None, max_length=100)
    """Set when the ticket was imported from the old portal (its number there)."""


class TicketDecisionRecorded(TicketSummaryEvent):
    """The tickets service recorded a policy decision on the ticket (notify tells the requester)."""

    EVENT_TYPE: ClassVar[str] = "TicketDecisionRecorded"
    EVENT_VERSION: ClassVar[int] = 1

    stage: DecisionStage
    decision: Decision
    reasons: tuple[RuleHit, ...]
    policy_version: str
    deferred_until: AwareDatetime | None = None


class TicketResolved(TicketsEvent):
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
    other_remote_service: bool = False
    """A remote service not tied to how the program works (P-OTHER-REMOTE)."""
    # Always filled by the tickets service; absent only in events stored before they were added.
    number: int | None = Field(default=None, ge=1)
    requester: Person | None = None
    subject: str | None = Field(default=None, min_length=1, max_length=200)
    consultant: Person | None = None


class TicketAccepted(TicketSummaryEvent):
    """A consultant took the ticket from the waiting list into work."""

    EVENT_TYPE: ClassVar[str] = "TicketAccepted"
    EVENT_VERSION: ClassVar[int] = 1

    consultant: Person
    accepted_at: AwareDatetime


class TicketReopened(TicketSummaryEvent):
    """The customer reopened a resolved ticket; it is back in work with the same consultant."""

    EVENT_TYPE: ClassVar[str] = "TicketReopened"
    EVENT_VERSION: ClassVar[int] = 1

    reopened_by: Person
    reopened_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=20000)
    consultant: Person | None = None
    """The consultant who resolved it and takes it up again."""


class TicketClosed(TicketSummaryEvent):
    """A resolved ticket was closed: confirmed by a person, or when the reopening window ended."""

    EVENT_TYPE: ClassVar[str] = "TicketClosed"
    EVENT_VERSION: ClassVar[int] = 1

    closed_at: AwareDatetime
    closed_by: uuid.UUID | None = None
    """The person who closed it; None when it closed itself after the reopening window."""


class TicketRefused(TicketSummaryEvent):
    """The support policy refused help: the ticket left the waiting list or work, for reasons."""

    EVENT_TYPE: ClassVar[str] = "TicketRefused"
    EVENT_VERSION: ClassVar[int] = 1

    refused_at: AwareDatetime
    reasons: tuple[RuleHit, ...]
    policy_version: str


class TicketMessagePosted(TicketSummaryEvent):
    """A message was added to the correspondence (`internal`: a note customers never see)."""

    EVENT_TYPE: ClassVar[str] = "TicketMessagePosted"
    EVENT_VERSION: ClassVar[int] = 1

    message_id: uuid.UUID
    author: Person
    author_role: AuthorRole
    internal: bool
    body: str = Field(min_length=1, max_length=20000)
    posted_at: AwareDatetime
    attachment_ids: tuple[uuid.UUID, ...] = Field(
        default=(), max_length=MAX_ATTACHMENTS_PER_MESSAGE
    )
    """The files attached to the message (the content service's attachment ids), each uploaded
    to this ticket by the author; as internal as the message. Absent in events stored before
    attachments existed."""


class ImportedAttachment(EventModel):
    """One file of the old portal carried over to a message of an imported ticket."""

    attachment_id: uuid.UUID
    message_id: uuid.UUID | None = None
    """The live ticket's message; None on an archived ticket (its messages have no ids)."""


class TicketAttachmentsImported(TicketsEvent):
    """The old portal's files referenced by an imported ticket's correspondence were attached
    to it (uploaded for the import beforehand by the vendor admin who imported it). Never
    internal: the old portal had no internal notes."""

    EVENT_TYPE: ClassVar[str] = "TicketAttachmentsImported"
    EVENT_VERSION: ClassVar[int] = 1

    ticket_id: uuid.UUID
    """The live ticket, or the archive entry (`archived`)."""
    org_id: uuid.UUID
    legacy_reference: str = Field(min_length=1, max_length=100)
    archived: bool
    imported_by: uuid.UUID
    attachments: tuple[ImportedAttachment, ...] = Field(
        min_length=1, max_length=MAX_ATTACHMENTS_PER_IMPORTED_TICKET
    )
