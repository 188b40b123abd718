"""The old portal's resolved tickets, kept read-only in an archive (services/tickets/README.md,
"Importing the old portal's tickets")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from contracts.common import Person
from services.tickets.attachments import Attachment


@dataclass(frozen=True)
class ArchivedFile:
    """A file of the old portal carried over with an archived message (its bytes in content)."""

    id: uuid.UUID
    name: str
    media_type: str
    size: int

    @classmethod
    def of(cls, attachment: Attachment) -> ArchivedFile:
        return cls(attachment.id, attachment.name, attachment.media_type, attachment.size)


@dataclass(frozen=True)
class ArchivedMessage:
    author_name: str
    author_role: str
    body: str
    posted_at: datetime
    attachments: tuple[ArchivedFile, ...] = ()


MessageT = TypeVar("MessageT")


class ArchivedTicketFields(BaseModel, Generic[MessageT]):
    """An archived ticket's fields, declared once: the archive keeps them with its messages
    (`ArchivedTicket`), the API shows them with each message's files as downloads
    (`api_models.ArchivedTicketOut`)."""

    id: uuid.UUID
    legacy_reference: str
    org_id: uuid.UUID
    requester: Person
    channel: str
    topic: str
    subject: str
    body: str
    program: str | None
    submitted_at: datetime
    accepted_at: datetime | None
    resolved_at: datetime
    resolution: str
    consultant_name: str | None
    messages: list[MessageT]


class ArchivedTicket(ArchivedTicketFields[ArchivedMessage]):
    """A resolved ticket of the old portal: read-only."""

    model_config = ConfigDict(frozen=True)
