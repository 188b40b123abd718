"""All SQL of the content service.

Who sees what is decided here, in one place (`_VISIBLE_RELEASES`, `_VISIBLE_RECORDINGS`): a
customer sees a published release while the organization's licence for its program is in force
on the day (Ljubljana), and a published recording while its training is ordered; vendor staff see
every published item, and a vendor admin drafts as well.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, Literal, TypeVar

import asyncpg

from services.runtime.db import Connection


class NotFoundError(LookupError):
    """No such item, or not visible to the caller."""


class ConflictError(ValueError):
    """The item is not in a state that allows this (published, a file still arriving, ...)."""


@dataclass(frozen=True)
class Viewer:
    """Whose eyes a read is for."""

    org_id: uuid.UUID | None
    """The customer's organization; None for vendor staff (every organization)."""
    day: date
    """Today in Ljubljana: licences are judged by it."""
    drafts: bool = False
    """Vendor admins see drafts as well."""


@dataclass(frozen=True)
class StoredFile:
    id: uuid.UUID
    release_id: uuid.UUID | None
    recording_id: uuid.UUID | None
    name: str
    media_type: str
    storage_key: str
    status: str
    size: int | None
    sha256: str | None
    created_at: datetime
    stored_at: datetime | None


@dataclass(frozen=True)
class Release:
    id: uuid.UUID
    program: str
    version: str
    released_on: date
    notes_sl: str
    notes_en: str
    created_at: datetime
    published_at: datetime | None


@dataclass(frozen=True)
class Recording:
    id: uuid.UUID
    training_id: str
    title: str
    program: str
    held_on: date
    duration_s: int
    description: str
    created_at: datetime
    published_at: datetime | None


@dataclass(frozen=True)
class LicenceChange:
    program: str
    licensed: bool
    valid_from: date
    source: str
    recorded_at: datetime


@dataclass(frozen=True)
class TrainingOrderChange:
    training_id: str
    ordered: bool
    as_of: datetime
    source: str
    recorded_at: datetime


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


FILE_COLUMNS = """f.id, f.release_id, f.recording_id, f.name, f.media_type, f.storage_key,
                   f.status, f.size, f.sha256, f.created_at, f.stored_at"""
_RELEASE_COLUMNS = """r.id, r.program, r.version, r.released_on, r.notes_sl, r.notes_en,
                      r.created_at, r.published_at"""
_RECORDING_COLUMNS = """r.id, r.training_id, r.title, r.program, r.held_on, r.duration_s,
                        r.description, r.created_at, r.published_at"""

# $1 org (NULL: staff), $2 day, $3 drafts too. The licence in force on the day is the change with
# the latest valid_from on or before it (the latest recorded among those of one day); the order
# of a training in force is the latest change as of that day.
_VISIBLE_RELEASES = """
    releases r
    WHERE (r.published_at IS NOT NULL OR $3::boolean)
      AND ($1::uuid IS NULL OR (
            SELECT c.licensed FROM licence_changes c
             WHERE c.org_id = $1 AND c.program = r.program AND c.valid_from <= $2::date
             ORDER BY c.valid_from DESC, c.id DESC LIMIT 1))"""
_VISIBLE_RECORDINGS = """
    recordings r
    WHERE (r.published_at IS NOT NULL OR $3::boolean)
      AND ($1::uuid IS NULL OR (
            SELECT o.ordered FROM training_order_changes o
             WHERE o.org_id = $1 AND o.training_id = r.training_id
               AND (o.as_of AT TIME ZONE 'Europe/Ljubljana')::date <= $2::date
             ORDER BY o.as_of DESC, o.id DESC LIMIT 1))"""


Item = TypeVar("Item", Release, Recording)


def _viewer_args(viewer: Viewer) -> tuple[uuid.UUID | None, date, bool]:
    return viewer.org_id, viewer.day, viewer.drafts


@dataclass(frozen=True)
class Listing(Generic[Item]):
    """What differs between the lists of releases and of recordings: which rows the viewer
    sees, their columns, and the day they are ordered by (newest first, then id)."""

    visible: str
    columns: str
    day_column: str
    row: Callable[..., Item]


RELEASES = Listing(_VISIBLE_RELEASES, _RELEASE_COLUMNS, "released_on", Release)
RECORDINGS = Listing(_VISIBLE_RECORDINGS, _RECORDING_COLUMNS, "held_on", Recording)


async def visible_item(
    conn: Connection, listing: Listing[Item], item_id: uuid.UUID, viewer: Viewer
) -> Item:
    row = await conn.fetchrow(
        f"SELECT {listing.columns} FROM {listing.visible} AND r.id = $4",
        *_viewer_args(viewer),
        item_id,
    )
    if row is None:
        raise NotFoundError(item_id)
    return listing.row(**row)


async def visible_items(
    conn: Connection,
    listing: Listing[Item],
    viewer: Viewer,
    *,
    program: str | None,
    after: tuple[date, uuid.UUID] | None,
    limit: int,
) -> list[Item]:
    """Newest first (the listing's day, then id); `limit + 1` rows say whether more follow."""
    day = f"r.{listing.day_column}"
    rows = await conn.fetch(
        f"""SELECT {listing.columns} FROM {listing.visible}
              AND ($4::text IS NULL OR r.program = $4)
              AND ($5::date IS NULL OR ({day}, r.id) < ($5, $6::uuid))
            ORDER BY {day} DESC, r.id DESC LIMIT $7""",
        *_viewer_args(viewer),
        program,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    return [listing.row(**row) for row in rows]


# -- who may see what -------------------------------------------------------------------------


async def record_licence(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    program: str,
    licensed: bool,
    valid_from: date,
    source: str,
    recorded_at: datetime,
    source_event_id: uuid.UUID | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO licence_changes (org_id, program, licensed, valid_from, source,
                                        recorded_at, source_event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (source_event_id) DO NOTHING""",
        org_id,
        program,
        licensed,
        valid_from,
        source,
        recorded_at,
        source_event_id,
    )


async def licence_changes(conn: Connection, org_id: uuid.UUID) -> list[LicenceChange]:
    """Every licence change of the organization, by program and newest first."""
    rows = await conn.fetch(
        """SELECT program, licensed, valid_from, source, recorded_at FROM licence_changes
            WHERE org_id = $1 ORDER BY program, valid_from DESC, id DESC""",
        org_id,
    )
    return [LicenceChange(**row) for row in rows]


async def licensed_programs(conn: Connection, org_id: uuid.UUID, day: date) -> list[str]:
    """The programs the organization is licensed for on the day."""
    rows = await conn.fetch(
        """SELECT program FROM (
               SELECT DISTINCT ON (program) program, licensed FROM licence_changes
                WHERE org_id = $1 AND valid_from <= $2
                ORDER BY program, valid_from DESC, id DESC) latest
            WHERE licensed ORDER BY program""",
        org_id,
        day,
    )
    return [row["program"] for row in rows]


async def licensed_organizations(conn: Connection, program: str, day: date) -> list[uuid.UUID]:
    """The organizations licensed for the program on the day."""
    rows = await conn.fetch(
        """SELECT org_id FROM (
               SELECT DISTINCT ON (org_id) org_id, licensed FROM licence_changes
                WHERE program = $1 AND valid_from <= $2
                ORDER BY org_id, valid_from DESC, id DESC) latest
            WHERE licensed ORDER BY org_id""",
        program,
        day,
    )
    return [row["org_id"] for row in rows]


async def record_training_order(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    training_id: str,
    ordered: bool,
    as_of: datetime,
    source: str,
    recorded_at: datetime,
    source_event_id: uuid.UUID | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO training_order_changes (org_id, training_id, ordered, as_of, source,
                                               recorded_at, source_event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (source_event_id) DO NOTHING""",
        org_id,
        training_id,
        ordered,
        as_of,
        source,
        recorded_at,
        source_event_id,
    )


async def training_order_changes(conn: Connection, org_id: uuid.UUID) -> list[TrainingOrderChange]:
    rows = await conn.fetch(
        """SELECT training_id, ordered, as_of, source, recorded_at FROM training_order_changes
            WHERE org_id = $1 ORDER BY training_id, as_of DESC, id DESC""",
        org_id,
    )
    return [TrainingOrderChange(**row) for row in rows]


# -- releases ---------------------------------------------------------------------------------


async def create_release(
    conn: Connection,
    *,
    program: str,
    version: str,
    released_on: date,
    notes_sl: str,
    notes_en: str,
    by: uuid.UUID,
    at: datetime,
) -> Release:
    try:
        row = await conn.fetchrow(
            f"""INSERT INTO releases AS r (id, program, version, released_on, notes_sl, notes_en,
                                          created_at, created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                RETURNING {_RELEASE_COLUMNS}""",
            uuid.uuid4(),
            program,
            version,
            released_on,
            notes_sl,
            notes_en,
            at,
            by,
        )
    except asyncpg.UniqueViolationError:
        raise ConflictError(f"{program} {version} exists already.") from None
    assert row is not None
    return Release(**row)


async def publish_release(
    conn: Connection, release_id: uuid.UUID, *, by: uuid.UUID, at: datetime
) -> tuple[Release, int]:
    """Publish a draft that has its files; return it and its number of files."""
    stored = await _check_publishable(conn, "release", release_id)
    row = await conn.fetchrow(
        f"""UPDATE releases r SET published_at = $2, published_by = $3 WHERE id = $1
            RETURNING {_RELEASE_COLUMNS}""",
        release_id,
        at,
        by,
    )
    assert row is not None
    return Release(**row), stored


async def _check_publishable(
    conn: Connection, kind: Literal["release", "recording"], owner_id: uuid.UUID
) -> int:
    """Lock a draft for publishing (uploads to it wait, or it waits for them to begin) and
    return its number of stored files; raise unless it can be published."""
    if not conn.is_in_transaction():
        raise RuntimeError("publishing runs inside the caller's transaction")
    published = await conn.fetchval(
        f"SELECT published_at IS NOT NULL FROM {kind}s WHERE id = $1 FOR UPDATE", owner_id
    )
    if published is None:
        raise NotFoundError(owner_id)
    if published:
        raise ConflictError(f"The {kind} is published already.")
    counts = await conn.fetchrow(
        f"""SELECT count(*) FILTER (WHERE status = 'stored') AS stored,
                   count(*) FILTER (WHERE status = 'receiving') AS receiving
              FROM files WHERE {kind}_id = $1""",
        owner_id,
    )
    assert counts is not None
    if counts["receiving"]:
        raise ConflictError("A file is still being uploaded; publish when it is complete.")
    if not counts["stored"]:
        raise ConflictError(f"A {kind} is published with its files; upload one first.")
    return int(counts["stored"])


# -- recordings -------------------------------------------------------------------------------


async def create_recording(
    conn: Connection,
    *,
    training_id: str,
    title: str,
    program: str,
    held_on: date,
    duration_s: int,
    description: str,
    by: uuid.UUID,
    at: datetime,
) -> Recording:
    row = await conn.fetchrow(
        f"""INSERT INTO recordings AS r (id, training_id, title, program, held_on, duration_s,
                                        description, created_at, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            RETURNING {_RECORDING_COLUMNS}""",
        uuid.uuid4(),
        training_id,
        title,
        program,
        held_on,
        duration_s,
        description,
        at,
        by,
    )
    assert row is not None
    return Recording(**row)


async def publish_recording(
    conn: Connection, recording_id: uuid.UUID, *, by: uuid.UUID, at: datetime
) -> Recording:
    """Publish a draft that has its video."""
    await _check_publishable(conn, "recording", recording_id)
    row = await conn.fetchrow(
        f"""UPDATE recordings r SET published_at = $2, published_by = $3 WHERE id = $1
            RETURNING {_RECORDING_COLUMNS}""",
        recording_id,
        at,
        by,
    )
    assert row is not None
    return Recording(**row)


# -- files ------------------------------------------------------------------------------------

Owner = tuple[Literal["release", "recording"], uuid.UUID]


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
    table = "releases" if kind == "release" else "recordings"
    file_id = uuid.uuid4()
    async with conn.transaction():
        published = await conn.fetchval(
            f"SELECT published_at IS NOT NULL FROM {table} WHERE id = $1 FOR SHARE", owner_id
        )
        if published is None:
            raise NotFoundError(owner_id)
        if published:
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
        raise NotFoundError(file_id)
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
                   f.release_id IN (SELECT r.id FROM {_VISIBLE_RELEASES})
                OR f.recording_id IN (SELECT r.id FROM {_VISIBLE_RECORDINGS}))""",
        *_viewer_args(viewer),
        file_id,
    )
    if row is None:
        raise NotFoundError(file_id)
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
        raise NotFoundError(file_id)
    return StoredFile(**row)


# -- downloads --------------------------------------------------------------------------------


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
