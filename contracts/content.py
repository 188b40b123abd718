"""Portal content: which organization may see which programs' releases and which trainings'
recordings, and what the content service announces.

- The ERP: an organization's licence for a program (topic `erp.events`, key = organization id).
- The training system: an organization's order of a training (topic `training.events`, key =
  organization id).
- The content service: a release published, and available to each licensed organization (topic
  `content.events`, key = release id); a file attached to a ticket, and one left unused until
  it expired (topic `content.events`, key = attachment id).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar

from pydantic import AwareDatetime, Field

from contracts.common import ORG_ID, EventKey, EventModel
from contracts.topics import CONTENT_EVENTS, ERP_EVENTS, TRAINING_EVENTS

PROGRAM = Field(min_length=1, max_length=100)
"""A program's name as the ERP and the training system write it (e.g. "Plače")."""
TRAINING_ID = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
"""The training system's id of a training (e.g. "PLACE-2026-03")."""
RELEASE_ID = EventKey("release_id", "the release id")
ATTACHMENT_ID = EventKey("attachment_id", "the attachment id")


class ProgramLicenceChanged(EventModel):
    """The organization is licensed for the program from `valid_from` (`licensed`), or no longer
    from that day (not `licensed`). The change with the latest `valid_from` on or before a day
    holds on that day, whatever order the messages arrive in."""

    EVENT_TYPE: ClassVar[str] = "ProgramLicenceChanged"
    EVENT_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = ERP_EVENTS
    KEY: ClassVar[EventKey | None] = ORG_ID

    org_id: uuid.UUID
    program: str = PROGRAM
    licensed: bool
    valid_from: date


class TrainingOrderChanged(EventModel):
    """The organization ordered a training (`ordered`), or the order was withdrawn; its users see
    the training's recordings while it is ordered. The change with the latest `as_of` holds."""

    EVENT_TYPE: ClassVar[str] = "TrainingOrderChanged"
    EVENT_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = TRAINING_EVENTS
    KEY: ClassVar[EventKey | None] = ORG_ID

    org_id: uuid.UUID
    training_id: str = TRAINING_ID
    ordered: bool
    as_of: AwareDatetime


class ReleaseEvent(EventModel):
    """An event on `content.events` about a release, keyed by the release."""

    TOPIC: ClassVar[str] = CONTENT_EVENTS
    KEY: ClassVar[EventKey | None] = RELEASE_ID

    release_id: uuid.UUID
    program: str = PROGRAM
    version: str = Field(min_length=1, max_length=50)
    released_on: date
    notes_sl: str = Field(max_length=20_000)
    notes_en: str = Field(max_length=20_000)


class ReleasePublished(ReleaseEvent):
    """A vendor admin published a release of a program: it is now listed to the users of the
    organizations licensed for the program."""

    EVENT_TYPE: ClassVar[str] = "ReleasePublished"
    EVENT_VERSION: ClassVar[int] = 1

    file_count: int = Field(ge=1)


class ReleaseAvailable(ReleaseEvent):
    """A published release is available to one licensed organization (one event per
    organization licensed on the day of publishing); notify e-mails its users."""

    EVENT_TYPE: ClassVar[str] = "ReleaseAvailable"
    EVENT_VERSION: ClassVar[int] = 1

    org_id: uuid.UUID


class AttachmentEvent(EventModel):
    """An event on `content.events` about a file for a ticket, keyed by the attachment."""

    TOPIC: ClassVar[str] = CONTENT_EVENTS
    KEY: ClassVar[EventKey | None] = ATTACHMENT_ID

    attachment_id: uuid.UUID
    ticket_id: uuid.UUID | None
    """None: uploaded by a vendor admin for the old portal's import."""
    org_id: uuid.UUID | None
    """The ticket's organization (None with no ticket)."""


class AttachmentUploaded(AttachmentEvent):
    """A file was uploaded to be attached to a ticket's message (or, without a ticket, to be
    carried over by the old portal's import). It is pending until a message names it."""

    EVENT_TYPE: ClassVar[str] = "AttachmentUploaded"
    EVENT_VERSION: ClassVar[int] = 1

    uploaded_by: uuid.UUID
    name: str = Field(min_length=1, max_length=200)
    media_type: str = Field(min_length=1, max_length=100)
    size: int = Field(ge=1)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    uploaded_at: AwareDatetime


class AttachmentExpired(AttachmentEvent):
    """A pending attachment was never attached to a message in time: its bytes are deleted and
    it can no longer be named."""

    EVENT_TYPE: ClassVar[str] = "AttachmentExpired"
    EVENT_VERSION: ClassVar[int] = 1

    expired_at: AwareDatetime
