"""The old portal's ticket export (format `old-portal-tickets/1`) and the checks made before import.

A JSON document: `{"format": "old-portal-tickets/1", "tickets": [...]}`; each ticket names its
old number (`reference`), its `state` (`open` or `resolved`), the requester's e-mail (a user who
already has an account, e.g. from the legacy user import), its texts and times, and the
correspondence. Open tickets become live tickets on the waiting list; resolved ones become
read-only archive entries. The document is checked whole before anything is stored.

A message may name the old portal's files it carried (`attachments`: name and SHA-256 of each);
the importing vendor admin uploads those files to the content service first
(`POST /api/content/attachments/imports`), and the import attaches each upload to its message
(services/tickets/README.md, "Importing the old portal's tickets").
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from contracts.common import EMAIL_PATTERN, Channel, Topic
from contracts.tickets import (
    MAX_ATTACHMENTS_PER_IMPORTED_TICKET,
    MAX_ATTACHMENTS_PER_MESSAGE,
    AuthorRole,
)
from services.runtime.moments import Moment
from services.tickets.attachments import FileReference

MAX_TICKETS = 5_000


class LegacyAttachment(BaseModel):
    """A file the old portal kept with a message, named as its export names it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[
        str,
        Field(min_length=1, max_length=200),
        AfterValidator(lambda name: unicodedata.normalize("NFC", name)),
    ]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class LegacyMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    author_role: AuthorRole
    author_name: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(min_length=1, max_length=20000)]
    posted_at: Moment
    attachments: Annotated[
        list[LegacyAttachment], Field(max_length=MAX_ATTACHMENTS_PER_MESSAGE)
    ] = []


class LegacyTicket(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reference: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._/-]+$")]
    state: Literal["open", "resolved"]
    requester_email: Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=254)]
    channel: Channel = "portal"
    topic: Topic = "other"
    subject: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\r\n]*$")]
    body: Annotated[str, Field(min_length=1, max_length=20000)]
    program: Annotated[str | None, Field(max_length=100)] = None
    submitted_at: Moment
    accepted_at: Moment | None = None
    resolved_at: Moment | None = None
    resolution: Annotated[str | None, Field(min_length=1, max_length=20000)] = None
    consultant_name: Annotated[str | None, Field(min_length=1, max_length=200)] = None
    messages: Annotated[list[LegacyMessage], Field(max_length=500)] = []

    @model_validator(mode="after")
    def _resolved_ones_say_how(self) -> LegacyTicket:
        if self.state == "resolved" and (self.resolved_at is None or self.resolution is None):
            raise ValueError("a resolved ticket needs 'resolved_at' and 'resolution'")
        if self.state == "open" and (self.resolved_at or self.resolution):
            raise ValueError("an open ticket has no 'resolved_at' or 'resolution'")
        if sum(len(m.attachments) for m in self.messages) > MAX_ATTACHMENTS_PER_IMPORTED_TICKET:
            raise ValueError(
                f"a ticket carries at most {MAX_ATTACHMENTS_PER_IMPORTED_TICKET} attachments"
            )
        return self


class LegacyTicketFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["old-portal-tickets/1"]
    tickets: Annotated[list[LegacyTicket], Field(min_length=1, max_length=MAX_TICKETS)]


def duplicate_references(document: LegacyTicketFile) -> list[str]:
    """Problems: old numbers that appear more than once in the file."""
    seen: set[str] = set()
    problems = []
    for index, ticket in enumerate(document.tickets):
        if ticket.reference in seen:
            problems.append(f"tickets[{index}]: {ticket.reference} appears more than once")
        seen.add(ticket.reference)
    return problems


def file_references(index: int, ticket: LegacyTicket) -> list[FileReference]:
    """The files the ticket's messages name, in order, each with where it is named."""
    return [
        FileReference(
            f"tickets[{index}] ({ticket.reference}).messages[{m}].attachments[{a}]",
            attachment.name,
            attachment.sha256,
        )
        for m, message in enumerate(ticket.messages)
        for a, attachment in enumerate(message.attachments)
    ]
