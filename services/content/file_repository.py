"""The SQL of the files of releases and recordings (table `files`: from receiving to stored)
and of their downloads (table `downloads`: every GET recorded)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.content.repository import (
    FILE_COLUMNS,
    VISIBLE_RECORDINGS,
    VISIBLE_RELEASES,
    ConflictError,
    Kind,
    NotFoundError,
    StoredFile,
    Viewer,
    lock_draft,
    viewer_args,
)
from services.runtime.db import Connection

Owner = tuple[Kind, uuid.UUID]


async def begin_file(
    conn: Connection,
    *,
    owner: Owner,
    name: str,
    media_type: str,
    by: uuid.UUID,
    at: datetime,
) -> StoredFile:
    """Record a file about to stream in (`receiving`), on a draft only."""
    kind, owner_id = owner
    file_id = uuid.uuid4()
    async with conn.transaction():
        if await lock_draft(conn, kind, owner_id, mode="SHARE"):
            raise ConflictError(f"The {kind} is published; its files cannot change.")
        try:
            row = await conn.fetchrow(
                f"""INSERT INTO files AS f (id, release_id, recording_id, name, media_type,
                                           storage_key, status, created_at, created_by)
                    VALUES ($1, $2, $3, $4, $5, $6, 'receiving', $7, $8)
                    RETURNING {FILE_COLUMNS}""",
                file_id,
                owner_id if kind == "release" else None,
                owner_id if kind == "recording" else None,
                name,
                media_type,
                f"{kind}s/{owner_id}/{file_id}",
                at,
                by,
            )
        except asyncpg.UniqueViolationError:
            what = f"a file named {name!r}" if kind == "release" else "its video"
            raise ConflictError(f"The {kind} has {what} already; delete it first.") from None
    assert row is not None
    return StoredFile(**row)


async def finish_file(
    conn: Connection, file_id: uuid.UUID, *, size: int, sha256: str, at: datetime
) -> StoredFile:
    row = await conn.fetchrow(
        f"""UPDATE files f SET status = 'stored', size = $2, sha256 = $3, stored_at = $4
             WHERE id = $1 AND status = 'receiving' RETURNING {FILE_COLUMNS}""",
        file_id,
        size,
        sha256,
        at,
    )
    if row is None:  # swept as stale meanwhile
        raise NotFoundError("file")
    return StoredFile(**row)


async def forget_file(conn: Connection, file_id: uuid.UUID) -> None:
    """Remove the row of an upload that failed (its bytes are already gone)."""
    await conn.execute("DELETE FROM files WHERE id = $1 AND status = 'receiving'", file_id)


async def stale_uploads(conn: Connection, *, before: datetime, limit: int) -> list[StoredFile]:
    rows = await conn.fetch(
        f"""SELECT {FILE_COLUMNS} FROM files f
             WHERE status = 'receiving' AND created_at < $1 ORDER BY created_at LIMIT $2""",
        before,
        limit,
    )
    return [StoredFile(**row) for row in rows]


async def files_of(conn: Connection, *, owner_ids: Sequence[uuid.UUID]) -> list[StoredFile]:
    """The stored files of these releases or recordings, by name."""
    rows = await conn.fetch(
        f"""SELECT {FILE_COLUMNS} FROM files f
             WHERE (release_id = ANY($1::uuid[]) OR recording_id = ANY($1::uuid[]))
               AND status = 'stored'
             ORDER BY name, id""",
        list(owner_ids),
    )
    return [StoredFile(**row) for row in rows]


async def visible_file(conn: Connection, file_id: uuid.UUID, viewer: Viewer) -> StoredFile:
    """A stored file whose release or recording the viewer sees."""
    row = await conn.fetchrow(
        f"""SELECT {FILE_COLUMNS} FROM files f
             WHERE f.id = $4 AND f.status = 'stored' AND (
                   f.release_id IN (SELECT r.id FROM {VISIBLE_RELEASES})
                OR f.recording_id IN (SELECT r.id FROM {VISIBLE_RECORDINGS}))""",
        *viewer_args(viewer),
        file_id,
    )
    if row is None:
        raise NotFoundError("file")
    return StoredFile(**row)


async def delete_draft_file(conn: Connection, file_id: uuid.UUID) -> StoredFile:
    """Mark a stored file of a draft deleted (the caller then removes its bytes)."""
    row = await conn.fetchrow(
        f"""UPDATE files f SET status = 'deleted'
             WHERE id = $1 AND status = 'stored' AND NOT f.attachment
               AND NOT EXISTS (SELECT 1 FROM releases r
                                WHERE r.id = f.release_id AND r.published_at IS NOT NULL)
               AND NOT EXISTS (SELECT 1 FROM recordings r
                                WHERE r.id = f.recording_id AND r.published_at IS NOT NULL)
            RETURNING {FILE_COLUMNS}""",
        file_id,
    )
    if row is None:
        exists = await conn.fetchval(
            "SELECT status FROM files WHERE id = $1 AND status = 'stored' AND NOT attachment",
            file_id,
        )
        if exists:
            raise ConflictError("The file belongs to published content and stays.")
        raise NotFoundError("file")
    return StoredFile(**row)


@dataclass(frozen=True)
class Download:
    id: int
    file_id: uuid.UUID
    file_name: str
    user_id: uuid.UUID
    org_id: uuid.UUID
    downloaded_at: datetime
    range_start: int | None
    range_end: int | None


async def record_download(
    conn: Connection,
    *,
    file_id: uuid.UUID,
    user_id: uuid.UUID,
    org_id: uuid.UUID,
    at: datetime,
    range_start: int | None,
    range_end: int | None,
    correlation_id: str,
) -> None:
    await conn.execute(
        """INSERT INTO downloads (file_id, user_id, org_id, downloaded_at, range_start,
                                  range_end, correlation_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        file_id,
        user_id,
        org_id,
        at,
        range_start,
        range_end,
        correlation_id,
    )


async def downloads(
    conn: Connection,
    *,
    file_id: uuid.UUID | None,
    org_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Download]:
    """Newest first; `limit + 1` rows say whether more follow."""
    rows = await conn.fetch(
        """SELECT d.id, d.file_id, f.name AS file_name, d.user_id, d.org_id, d.downloaded_at,
                  d.range_start, d.range_end
             FROM downloads d JOIN files f ON f.id = d.file_id
            WHERE ($1::uuid IS NULL OR d.file_id = $1)
              AND ($2::uuid IS NULL OR d.org_id = $2)
              AND ($3::uuid IS NULL OR d.user_id = $3)
              AND ($4::timestamptz IS NULL OR (d.downloaded_at, d.id) < ($4, $5::bigint))
            ORDER BY d.downloaded_at DESC, d.id DESC LIMIT $6""",
        file_id,
        org_id,
        user_id,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    return [Download(**row) for row in rows]
