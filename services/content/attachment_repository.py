"""All SQL of attachments: the tickets this service knows of, and each attached file's ticket,
uploader, state and message.

Who may download an attachment is decided here, in one place (`visible_attachment`): the
uploader while it exists; once bound to a message, vendor staff, and the users of the ticket's
organization unless the message is an internal note.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.content.repository import FILE_COLUMNS, NotFoundError, StoredFile
from services.runtime.db import Connection

WAIT_POLL_S = 0.1


@dataclass(frozen=True)
class KnownTicket:
    ticket_id: uuid.UUID
    org_id: uuid.UUID
    archived: bool


@dataclass(frozen=True)
class TicketOwner:
    """What an attachment is uploaded to: a ticket of an organization, or nothing yet (a file
    of the old portal, uploaded by a vendor admin before the import names it)."""

    ticket_id: uuid.UUID | None
    org_id: uuid.UUID | None


@dataclass(frozen=True)
class Attachment:
    file_id: uuid.UUID
    ticket_id: uuid.UUID | None
    org_id: uuid.UUID | None
    uploaded_by: uuid.UUID
    state: str
    message_id: uuid.UUID | None
    internal: bool
    bound_at: datetime | None


_ATTACHMENT_FIELDS = (
    "ticket_id", "org_id", "uploaded_by", "state", "message_id", "internal", "bound_at",
)  # fmt: skip
_ATTACHMENT_COLUMNS = ", ".join(f"a.{name}" for name in ("file_id", *_ATTACHMENT_FIELDS))


# -- tickets ----------------------------------------------------------------------------------


async def record_ticket(
    conn: Connection, *, ticket_id: uuid.UUID, org_id: uuid.UUID, archived: bool, at: datetime
) -> None:
    """Remember a ticket's organization (a ticket never changes organization)."""
    await conn.execute(
        """INSERT INTO known_tickets (ticket_id, org_id, archived, recorded_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT (ticket_id) DO NOTHING""",
        ticket_id,
        org_id,
        archived,
        at,
    )


async def known_ticket(conn: Connection, ticket_id: uuid.UUID) -> KnownTicket | None:
    row = await conn.fetchrow(
        "SELECT ticket_id, org_id, archived FROM known_tickets WHERE ticket_id = $1", ticket_id
    )
    return KnownTicket(**row) if row else None


async def wait_for_ticket(
    pool: asyncpg.Pool, ticket_id: uuid.UUID, *, wait_s: float
) -> KnownTicket | None:
    """The ticket, waiting up to `wait_s` (wall-clock) for its TicketCreated when it is not
    known yet: a ticket submitted a moment ago may not have reached this service."""
    deadline = time.monotonic() + wait_s
    while True:
        async with pool.acquire() as conn:
            ticket = await known_ticket(conn, ticket_id)
        if ticket is not None or time.monotonic() >= deadline:
            return ticket
        await asyncio.sleep(WAIT_POLL_S)


# -- uploads ----------------------------------------------------------------------------------


async def begin_attachment(
    conn: Connection,
    *,
    owner: TicketOwner,
    name: str,
    media_type: str,
    by: uuid.UUID,
    at: datetime,
) -> StoredFile:
    """Record an attachment about to stream in: its file `receiving`, the attachment pending."""
    file_id = uuid.uuid4()
    folder = owner.ticket_id or "imports"
    async with conn.transaction():
        row = await conn.fetchrow(
            f"""INSERT INTO files AS f (id, name, media_type, storage_key, status, created_at,
                                       created_by, attachment)
                VALUES ($1, $2, $3, $4, 'receiving', $5, $6, true)
                RETURNING {FILE_COLUMNS}""",
            file_id,
            name,
            media_type,
            f"attachments/{folder}/{file_id}",
            at,
            by,
        )
        await conn.execute(
            """INSERT INTO attachments (file_id, ticket_id, org_id, uploaded_by, state)
               VALUES ($1, $2, $3, $4, 'pending')""",
            file_id,
            owner.ticket_id,
            owner.org_id,
            by,
        )
    assert row is not None
    return StoredFile(**row)


# -- binding ----------------------------------------------------------------------------------


async def lock_attachments(
    conn: Connection, attachment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Attachment]:
    """The stored attachments with these ids, locked until the transaction ends."""
    rows = await conn.fetch(
        f"""SELECT {_ATTACHMENT_COLUMNS} FROM attachments a JOIN files f ON f.id = a.file_id
             WHERE a.file_id = ANY($1::uuid[]) AND f.status IN ('stored', 'deleted')
             ORDER BY a.file_id FOR UPDATE OF a""",
        list(attachment_ids),
    )
    return {row["file_id"]: Attachment(**row) for row in rows}


async def bind(
    conn: Connection,
    bindings: Sequence[tuple[uuid.UUID, uuid.UUID | None]],
    *,
    ticket_id: uuid.UUID,
    org_id: uuid.UUID,
    internal: bool,
    at: datetime,
) -> None:
    """Attach pending attachments, (attachment id, message id) each, to the ticket's messages."""
    await conn.execute(
        """UPDATE attachments a
              SET state = 'bound', ticket_id = $2, org_id = $3, message_id = b.message_id,
                  internal = $4, bound_at = $5
             FROM unnest($1::uuid[], $6::uuid[]) AS b (file_id, message_id)
            WHERE a.file_id = b.file_id AND a.state = 'pending'""",
        [attachment_id for attachment_id, _ in bindings],
        ticket_id,
        org_id,
        internal,
        at,
        [message_id for _, message_id in bindings],
    )


# -- downloads --------------------------------------------------------------------------------


async def visible_attachment(
    conn: Connection, attachment_id: uuid.UUID, *, user_id: uuid.UUID, org_scope: uuid.UUID | None
) -> StoredFile:
    """The stored file of an attachment the caller may download: their own upload; once bound,
    any for vendor staff (`org_scope` None), else those of their organization's tickets that
    are not on an internal note."""
    row = await conn.fetchrow(
        f"""SELECT {FILE_COLUMNS} FROM files f JOIN attachments a ON a.file_id = f.id
             WHERE f.id = $1 AND f.status = 'stored' AND a.state IN ('pending', 'bound')
               AND (a.uploaded_by = $2
                    OR (a.state = 'bound'
                        AND ($3::uuid IS NULL OR (a.org_id = $3 AND NOT a.internal))))""",
        attachment_id,
        user_id,
        org_scope,
    )
    if row is None:
        raise NotFoundError("attachment")
    return StoredFile(**row)


# -- the sweep of attachments no message named ------------------------------------------------


async def lock_unbound(
    conn: Connection, *, stored_before: datetime, limit: int
) -> list[tuple[StoredFile, Attachment]]:
    """Pending attachments stored before the moment, oldest first, locked (a message naming
    one meanwhile waits for the sweep's decision, and then finds it expired)."""
    rows = await conn.fetch(
        f"""SELECT {FILE_COLUMNS}, {", ".join(f"a.{name}" for name in _ATTACHMENT_FIELDS)}
              FROM attachments a JOIN files f ON f.id = a.file_id
             WHERE a.state = 'pending' AND f.status = 'stored' AND f.stored_at < $1
             ORDER BY f.stored_at LIMIT $2 FOR UPDATE OF a, f SKIP LOCKED""",
        stored_before,
        limit,
    )
    found = []
    for row in rows:
        values = dict(row)
        fields = {name: values.pop(name) for name in _ATTACHMENT_FIELDS}
        found.append((StoredFile(**values), Attachment(file_id=values["id"], **fields)))
    return found


async def expire(conn: Connection, file_id: uuid.UUID) -> None:
    """The attachment can no longer be named; its file is deleted (the row stays for the
    download records)."""
    await conn.execute(
        "UPDATE attachments SET state = 'expired' WHERE file_id = $1 AND state = 'pending'",
        file_id,
    )
    await conn.execute("UPDATE files SET status = 'deleted' WHERE id = $1", file_id)
