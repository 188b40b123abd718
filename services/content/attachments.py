"""Which attachments a message may take (pure, no I/O).

The tickets service checks the same when a message is posted and refuses it (422) before
anything is stored, so a refusal here means an event no honest producer sends: the handler
raises, and after its retries the event goes to the dead-letter topic with nothing changed.
An attachment swept as unused just before its message arrived is not attached, and says so in
the log (services/content/README.md, "Attachments").
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.content.attachment_repository import Attachment


class NotBindableError(ValueError):
    """The event names attachments that cannot be attached where it says."""


@dataclass(frozen=True)
class Binding:
    to_bind: tuple[tuple[uuid.UUID, uuid.UUID | None], ...]
    """(attachment id, message id) pairs to attach now."""
    expired: tuple[uuid.UUID, ...]
    """Named, but swept as unused before the message arrived."""


def for_message(
    found: Mapping[uuid.UUID, Attachment],
    requested: Sequence[uuid.UUID],
    *,
    ticket_id: uuid.UUID,
    author_id: uuid.UUID,
    message_id: uuid.UUID,
) -> Binding:
    """Attach the author's own pending uploads to this ticket to the message; one bound to it
    already (a redelivery) stays as it is."""
    return _binding(
        found,
        [(attachment_id, message_id) for attachment_id in requested],
        uploaded_to=ticket_id,
        uploaded_by=author_id,
        ticket_id=ticket_id,
    )


def for_import(
    found: Mapping[uuid.UUID, Attachment],
    requested: Sequence[tuple[uuid.UUID, uuid.UUID | None]],
    *,
    ticket_id: uuid.UUID,
    imported_by: uuid.UUID,
) -> Binding:
    """Attach the importing admin's uploads for the import (no ticket yet) to the imported
    ticket's messages."""
    return _binding(
        found, requested, uploaded_to=None, uploaded_by=imported_by, ticket_id=ticket_id
    )


def _binding(
    found: Mapping[uuid.UUID, Attachment],
    requested: Sequence[tuple[uuid.UUID, uuid.UUID | None]],
    *,
    uploaded_to: uuid.UUID | None,
    uploaded_by: uuid.UUID,
    ticket_id: uuid.UUID,
) -> Binding:
    to_bind: list[tuple[uuid.UUID, uuid.UUID | None]] = []
    expired: list[uuid.UUID] = []
    problems: list[str] = []
    for attachment_id, message_id in requested:
        attachment = found.get(attachment_id)
        if attachment is None:
            problems.append(f"{attachment_id}: no such attachment")
        elif attachment.state == "expired":
            expired.append(attachment_id)
        elif attachment.state == "bound":
            if (attachment.ticket_id, attachment.message_id) != (ticket_id, message_id):
                problems.append(f"{attachment_id}: attached to another message already")
        elif attachment.ticket_id != uploaded_to:
            problems.append(f"{attachment_id}: uploaded for another ticket")
        elif attachment.uploaded_by != uploaded_by:
            problems.append(f"{attachment_id}: uploaded by someone else")
        else:
            to_bind.append((attachment_id, message_id))
    if len({attachment_id for attachment_id, _ in requested}) != len(requested):
        problems.append("an attachment is named more than once")
    if problems:
        raise NotBindableError("; ".join(problems))
    return Binding(tuple(to_bind), tuple(expired))
