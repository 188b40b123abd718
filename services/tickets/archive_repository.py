"""The SQL of the archive of the old portal's tickets (table `archived_tickets`)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from contracts.common import Person
from services.runtime.db import Connection
from services.tickets.archive import ArchivedFile, ArchivedMessage, ArchivedTicket
from services.tickets.repository import NotFoundError, as_json, like_pattern


def _archived(row: asyncpg.Record) -> ArchivedTicket:
    messages = [
        ArchivedMessage(
            m["author_name"],
            m["author_role"],
            m["body"],
            datetime.fromisoformat(m["posted_at"]),
            tuple(
                ArchivedFile(uuid.UUID(f["id"]), f["name"], f["media_type"], f["size"])
                for f in m.get("attachments", ())
            ),
        )
        for m in json.loads(row["messages"])
    ]
    requester = Person.model_validate_json(row["requester"])
    return ArchivedTicket.model_validate(
        {**dict(row), "requester": requester, "messages": messages}
    )


async def known_legacy_references(conn: Connection, *, references: Sequence[str]) -> set[str]:
    """Those of these old-portal numbers already imported (as live or archived tickets)."""
    rows = await conn.fetch(
        """SELECT legacy_reference FROM tickets WHERE legacy_reference = ANY($1::text[])
           UNION SELECT legacy_reference FROM archived_tickets
                  WHERE legacy_reference = ANY($1::text[])""",
        list(references),
    )
    return {r["legacy_reference"] for r in rows}


async def insert_archived(conn: Connection, *, ticket: ArchivedTicket) -> None:
    """Store an archive entry."""
    await conn.execute(
        """INSERT INTO archived_tickets (id, legacy_reference, org_id, requester, channel, topic,
                                         subject, body, program, submitted_at, accepted_at,
                                         resolved_at, resolution, consultant_name, messages)
           VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                   $15::jsonb)""",
        ticket.id,
        ticket.legacy_reference,
        ticket.org_id,
        ticket.requester.model_dump_json(),
        ticket.channel,
        ticket.topic,
        ticket.subject,
        ticket.body,
        ticket.program,
        ticket.submitted_at,
        ticket.accepted_at,
        ticket.resolved_at,
        ticket.resolution,
        ticket.consultant_name,
        as_json(
            [
                {
                    "author_name": m.author_name,
                    "author_role": m.author_role,
                    "body": m.body,
                    "posted_at": m.posted_at.isoformat(),
                    "attachments": [{**vars(f), "id": str(f.id)} for f in m.attachments],
                }
                for m in ticket.messages
            ]
        ),
    )


async def list_archived(
    conn: Connection,
    *,
    org_id: uuid.UUID | None,
    text: str | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    with_total: bool,
) -> tuple[list[ArchivedTicket], int | None]:
    """Up to `limit + 1` archive entries, newest first, after the sort key `after`, optionally
    searched in subject, text, resolution or an exact old number; the count if asked."""
    where = """($1::uuid IS NULL OR org_id = $1)
               AND ($2::text IS NULL
                    OR search_text LIKE search_form($2)
                    OR legacy_reference = $3)"""
    args: list[object] = [org_id, like_pattern(text) if text else None, text]
    total = None
    if with_total:
        total = int(
            await conn.fetchval(f"SELECT count(*) FROM archived_tickets WHERE {where}", *args)
        )
    if after is not None:
        where += " AND (submitted_at, id) < ($4, $5)"
        args += list(after)
    rows = await conn.fetch(
        f"""SELECT * FROM archived_tickets WHERE {where}
            ORDER BY submitted_at DESC, id DESC LIMIT ${len(args) + 1}""",
        *args,
        limit + 1,
    )
    return [_archived(r) for r in rows], total


async def get_archived(
    conn: Connection, *, archived_id: uuid.UUID, org_id: uuid.UUID | None
) -> ArchivedTicket:
    """One archive entry, within one organization if given."""
    row = await conn.fetchrow(
        "SELECT * FROM archived_tickets WHERE id = $1 AND ($2::uuid IS NULL OR org_id = $2)",
        archived_id,
        org_id,
    )
    if row is None:
        raise NotFoundError(str(archived_id))
    return _archived(row)
