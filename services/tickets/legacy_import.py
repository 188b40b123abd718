"""The old portal's ticket export (format `old-portal-tickets/1`) and the checks made before import.

A JSON document: `{"format": "old-portal-tickets/1", "tickets": [...]}`; each ticket names its
old number (`reference`), its `state` (`open` or `resolved`), the requester's e-mail (a user who
already has an account, e.g. from the legacy user import), its texts and times, and the
correspondence. Open tickets become live tickets on the waiting list; resolved ones become
read-only archive entries. The document is checked whole before anything is stored.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.common import EMAIL_PATTERN, Channel, Topic
from contracts.tickets import AuthorRole
from services.runtime.moments import Moment

FORMAT = "old-portal-tickets/1"
MAX_TICKETS = 5_000


class LegacyMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    author_role: AuthorRole
    author_name: Annotated[str, Field(min_length=1, max_length=200)]
    body: Annotated[str, Field(min_length=1, max_length=20000)]
    posted_at: Moment


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
