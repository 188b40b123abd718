"""The old portal's tickets imported (services/tickets/legacy_import.py is the format): open
ones as live tickets, resolved ones as read-only archive entries, each with its correspondence
and the files the correspondence carried; all or nothing, and safe to repeat."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from contracts.tickets import ImportedAttachment, TicketAttachmentsImported
from services.runtime.db import Connection
from services.runtime.identity import Principal
from services.runtime.outbox import emit
from services.tickets import (
    archive,
    archive_repository,
    attachment_repository,
    directory,
    directory_repository,
    domain,
    handlers,
    repository,
)
from services.tickets.attachments import Attachment, match_import_files
from services.tickets.domain import Message, NewTicket, TicketError
from services.tickets.legacy_import import (
    LegacyTicket,
    LegacyTicketFile,
    duplicate_references,
    file_references,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ImportResult:
    live_created: int
    archived: int
    unchanged: int
    attachments: int


class ImportRejectedError(TicketError):
    """The file cannot be imported; nothing was stored."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


async def import_legacy_tickets(
    pool: asyncpg.Pool, *, principal: Principal, document: LegacyTicketFile, now: datetime
) -> ImportResult:
    """Import the old portal's tickets, all or nothing; ones imported before stay as they are.
    The files their messages name must have been uploaded for the import by the caller."""
    if "vendor_admin" not in principal.roles:
        raise domain.NotAllowedError("Only vendor administrators import the old portal's tickets.")
    problems = duplicate_references(document)
    async with pool.acquire() as conn, conn.transaction():
        # One import at a time, so two concurrent runs cannot both take the same old number.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('tickets.legacy-import'))")
        known = await archive_repository.known_legacy_references(
            conn, references=[t.reference for t in document.tickets]
        )
        users = await directory_repository.find_directory_users(
            conn, emails=[t.requester_email for t in document.tickets]
        )
        for index, entry in enumerate(document.tickets):
            if entry.requester_email.lower() not in users:
                problems.append(
                    f"tickets[{index}] ({entry.reference}): no portal user has the e-mail "
                    f"{entry.requester_email}; import the users first"
                )
        new = [(i, t) for i, t in enumerate(document.tickets) if t.reference not in known]
        references = [ref for index, entry in new for ref in file_references(index, entry)]
        uploaded = await attachment_repository.uploaded_for_import(
            conn, uploaded_by=principal.user_id, sha256s=[r.sha256 for r in references]
        )
        files, missing = match_import_files(references, uploaded)
        if problems or missing:
            raise ImportRejectedError(problems + missing)
        live = archived = 0
        for _, entry in new:
            carried, files = files[: _count(entry)], files[_count(entry) :]
            item = _Item(entry, users[entry.requester_email.lower()], carried)
            if entry.state == "open":
                live, store = live + 1, _import_open
            else:
                archived, store = archived + 1, _import_archived
            ticket_id, imported = await store(conn, item, now=now)
            await _announce(conn, item, ticket_id, imported, by=principal.user_id, now=now)
    result = ImportResult(live, archived, len(document.tickets) - live - archived, len(references))
    log.info("legacy tickets imported", **result.__dict__)
    return result


def _count(entry: LegacyTicket) -> int:
    return sum(len(m.attachments) for m in entry.messages)


def _per_message(entry: LegacyTicket, files: Sequence[Attachment]) -> list[list[Attachment]]:
    """The matched files (in reference order) split by the message that names them."""
    split, rest = [], list(files)
    for message in entry.messages:
        split.append(rest[: len(message.attachments)])
        rest = rest[len(message.attachments) :]
    return split


@dataclass(frozen=True)
class _Item:
    """One of the old portal's tickets to import, with its requester and the files its
    correspondence names (in reference order)."""

    entry: LegacyTicket
    user: directory.DirectoryUser
    files: Sequence[Attachment]

    def asked(self) -> dict[str, Any]:
        """What a live and an archived ticket alike keep of it: who asked what, and when."""
        entry = self.entry
        return {
            "org_id": self.user.org_id,
            "requester": self.user.person(),
            "channel": entry.channel,
            "topic": entry.topic,
            "subject": entry.subject,
            "body": entry.body,
            "program": entry.program,
            "submitted_at": entry.submitted_at,
        }


async def _import_open(
    conn: Connection, item: _Item, *, now: datetime
) -> tuple[uuid.UUID, list[ImportedAttachment]]:
    """A live ticket with its messages and their files; its id and the files attached."""
    entry, user = item.entry, item.user
    new = NewTicket(
        id=uuid.uuid4(), **item.asked(), recorded_by=None, legacy_reference=entry.reference
    )
    ticket = await handlers.store_new_ticket(conn, new, recorded_by_name=None, now=now)
    imported: list[ImportedAttachment] = []
    for m, message_files in zip(entry.messages, _per_message(entry, item.files), strict=True):
        message = Message(
            uuid.uuid4(),
            ticket.id,
            user.id if m.author_role == "customer" else None,
            m.author_name,
            m.author_role,
            False,
            m.body,
            m.posted_at,
        )
        await repository.add_message(conn, message=message)
        if message_files:
            await attachment_repository.attach_to_message(
                conn,
                attachment_ids=[f.id for f in message_files],
                ticket_id=ticket.id,
                message_id=message.id,
            )
            imported += [
                ImportedAttachment(attachment_id=f.id, message_id=message.id) for f in message_files
            ]
    return ticket.id, imported


async def _import_archived(
    conn: Connection, item: _Item, *, now: datetime
) -> tuple[uuid.UUID, list[ImportedAttachment]]:
    """An archive entry with its correspondence and files; its id and the files attached."""
    entry, files = item.entry, item.files
    assert entry.resolved_at is not None and entry.resolution is not None
    archived = archive.ArchivedTicket(
        id=uuid.uuid4(),
        legacy_reference=entry.reference,
        **item.asked(),
        accepted_at=entry.accepted_at,
        resolved_at=entry.resolved_at,
        resolution=entry.resolution,
        consultant_name=entry.consultant_name,
        messages=[
            archive.ArchivedMessage(
                m.author_name,
                m.author_role,
                m.body,
                m.posted_at,
                tuple(archive.ArchivedFile.of(f) for f in message_files),
            )
            for m, message_files in zip(entry.messages, _per_message(entry, files), strict=True)
        ],
    )
    await archive_repository.insert_archived(conn, ticket=archived)
    if files:
        await attachment_repository.attach_to_archive_entry(
            conn, attachment_ids=[f.id for f in files], archived_id=archived.id
        )
    return archived.id, [ImportedAttachment(attachment_id=f.id) for f in files]


async def _announce(
    conn: Connection,
    item: _Item,
    ticket_id: uuid.UUID,
    imported: list[ImportedAttachment],
    *,
    by: uuid.UUID,
    now: datetime,
) -> None:
    """`TicketAttachmentsImported`, so the content service shows the files with the ticket."""
    if not imported:
        return
    org_id = item.user.org_id
    await emit(
        conn,
        TicketAttachmentsImported(
            ticket_id=ticket_id,
            org_id=org_id,
            legacy_reference=item.entry.reference,
            archived=item.entry.state != "open",
            imported_by=by,
            attachments=tuple(imported),
        ),
        source=handlers.SOURCE,
        aggregate_id=ticket_id,
        aggregate_version=1,
        org_id=org_id,
        occurred_at=now,
    )
