"""All SQL of the attachments this service knows of (what the content service announced)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence

import asyncpg

from contracts.content import AttachmentUploaded
from services.runtime.db import Connection
from services.tickets.attachments import Attachment

WAIT_POLL_S = 0.1
_COLUMNS = """id, ticket_id, uploaded_by, name, media_type, size, sha256, uploaded_at,
              message_id, archived_id"""


async def record_uploaded(conn: Connection, *, uploaded: AttachmentUploaded) -> None:
    """Remember an upload (a redelivered announcement changes nothing)."""
    await conn.execute(
        """INSERT INTO attachments (id, ticket_id, uploaded_by, name, media_type, size, sha256,
                                    uploaded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING""",
        uploaded.attachment_id,
        uploaded.ticket_id,
        uploaded.uploaded_by,
        uploaded.name,
        uploaded.media_type,
        uploaded.size,
        uploaded.sha256,
        uploaded.uploaded_at,
    )


async def forget(conn: Connection, *, attachment_id: uuid.UUID) -> None:
    """The content service deleted the file, unused: it can no longer be named or listed."""
    await conn.execute("DELETE FROM attachments WHERE id = $1", attachment_id)


async def wait_until_known(
    pool: asyncpg.Pool, attachment_ids: Sequence[uuid.UUID], *, wait_s: float
) -> None:
    """Wait up to `wait_s` (wall-clock) until every id is known: an upload that completed a
    moment ago may not have been announced here yet. Returns either way; the caller checks."""
    deadline = time.monotonic() + wait_s
    while True:
        async with pool.acquire() as conn:
            known = await conn.fetchval(
                "SELECT count(*) FROM attachments WHERE id = ANY($1::uuid[])",
                list(set(attachment_ids)),
            )
        if known == len(set(attachment_ids)) or time.monotonic() >= deadline:
            return
        await asyncio.sleep(WAIT_POLL_S)


async def lock(
    conn: Connection, attachment_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Attachment]:
    """These attachments, locked until the transaction ends (two messages cannot both take
    one)."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM attachments WHERE id = ANY($1::uuid[])
             ORDER BY id FOR UPDATE""",
        list(attachment_ids),
    )
    return {row["id"]: Attachment(**row) for row in rows}


async def attach_to_message(
    conn: Connection,
    *,
    attachment_ids: Sequence[uuid.UUID],
    ticket_id: uuid.UUID,
    message_id: uuid.UUID,
) -> None:
    await conn.execute(
        "UPDATE attachments SET ticket_id = $2, message_id = $3 WHERE id = ANY($1::uuid[])",
        list(attachment_ids),
        ticket_id,
        message_id,
    )


async def attach_to_archive_entry(
    conn: Connection, *, attachment_ids: Sequence[uuid.UUID], archived_id: uuid.UUID
) -> None:
    await conn.execute(
        "UPDATE attachments SET archived_id = $2 WHERE id = ANY($1::uuid[])",
        list(attachment_ids),
        archived_id,
    )


async def of_messages(
    conn: Connection, *, message_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Attachment]]:
    """The attachments of these messages, by message, each in upload order."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM attachments WHERE message_id = ANY($1::uuid[])
             ORDER BY uploaded_at, id""",
        list(message_ids),
    )
    found: dict[uuid.UUID, list[Attachment]] = defaultdict(list)
    for row in rows:
        found[row["message_id"]].append(Attachment(**row))
    return found


async def uploaded_for_import(
    conn: Connection, *, uploaded_by: uuid.UUID, sha256s: Sequence[str]
) -> list[Attachment]:
    """The person's uploads for the import with these checksums that nothing carries yet,
    locked until the transaction ends."""
    rows = await conn.fetch(
        f"""SELECT {_COLUMNS} FROM attachments
             WHERE uploaded_by = $1 AND sha256 = ANY($2::text[])
               AND ticket_id IS NULL AND message_id IS NULL AND archived_id IS NULL
             ORDER BY uploaded_at, id FOR UPDATE""",
        uploaded_by,
        list(set(sha256s)),
    )
    return [Attachment(**row) for row in rows]
