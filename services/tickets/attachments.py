"""Which uploaded files a message may carry, and which of them the old portal's import names
(pure, no I/O). The files themselves live in the content service; this service knows them from
its `AttachmentUploaded` events (services/tickets/README.md, "Attachments")."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from services.tickets.domain import TicketError


@dataclass(frozen=True)
class Attachment:
    """A file uploaded to a ticket (or for the import), as the content service announced it."""

    id: uuid.UUID
    ticket_id: uuid.UUID | None
    uploaded_by: uuid.UUID
    name: str
    media_type: str
    size: int
    sha256: str
    uploaded_at: datetime
    message_id: uuid.UUID | None = None
    archived_id: uuid.UUID | None = None

    @property
    def attached(self) -> bool:
        """Whether a message (or an imported archive entry) carries it already."""
        return self.message_id is not None or self.archived_id is not None


class AttachmentsRefusedError(TicketError):
    """The message names files it cannot carry; nothing was stored."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def for_message(
    found: Mapping[uuid.UUID, Attachment],
    requested: Sequence[uuid.UUID],
    *,
    ticket_id: uuid.UUID,
    poster_id: uuid.UUID,
) -> tuple[Attachment, ...]:
    """The files a message names, if each is the poster's own upload to this ticket and not on
    another message yet; else `AttachmentsRefusedError` naming every problem. Another ticket's
    or another person's upload reads the same as one that does not exist."""
    problems = []
    if len(set(requested)) != len(requested):
        problems.append("an attachment is named more than once")
    for attachment_id in requested:
        attachment = found.get(attachment_id)
        if (
            attachment is None
            or attachment.ticket_id != ticket_id
            or attachment.uploaded_by != poster_id
        ):
            problems.append(
                f"{attachment_id}: not a file you uploaded to this ticket "
                f"(upload it with POST /api/content/tickets/{ticket_id}/attachments)"
            )
        elif attachment.attached:
            problems.append(f"{attachment_id}: attached to a message already")
    if problems:
        raise AttachmentsRefusedError(problems)
    return tuple(found[attachment_id] for attachment_id in requested)


@dataclass(frozen=True)
class FileReference:
    """A file the old portal's export names for one message."""

    where: str
    """Where in the export, for the problem list (`tickets[3].messages[0].attachments[1]`)."""
    name: str
    sha256: str


def match_import_files(
    references: Sequence[FileReference], uploaded: Sequence[Attachment]
) -> tuple[list[Attachment], list[str]]:
    """The upload each reference names (same name and SHA-256, oldest first, each used once),
    in the order of `references`, and a problem for each reference without one."""
    available: dict[tuple[str, str], list[Attachment]] = defaultdict(list)
    for attachment in sorted(uploaded, key=lambda a: (a.uploaded_at, a.id)):
        if attachment.ticket_id is None and not attachment.attached:
            available[attachment.name, attachment.sha256].append(attachment)
    matched, problems = [], []
    for reference in references:
        candidates = available[reference.name, reference.sha256]
        if candidates:
            matched.append(candidates.pop(0))
        else:
            problems.append(
                f"{reference.where}: {reference.name!r} (SHA-256 {reference.sha256}) has not been "
                "uploaded for the import by you (POST /api/content/attachments/imports), or is "
                "named more often than it was uploaded"
            )
    return matched, problems
