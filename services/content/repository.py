"""The SQL of releases and recordings and of who sees them; entitlements and files have their
own modules (entitlement_repository, file_repository).

Who sees what is decided here, in one place (`VISIBLE_RELEASES`, `VISIBLE_RECORDINGS`): a
customer sees a published release while the organization's licence for its program is in force
on the day (Ljubljana), and a published recording while its training is ordered; vendor staff see
every published item, and a vendor admin drafts as well.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, Literal, TypeVar

import asyncpg

from services.runtime.db import Connection


class NotFoundError(LookupError):
    """No such item, or not visible to the caller: "No such release." and the like."""

    def __init__(self, what: str) -> None:
        super().__init__(f"No such {what}.")


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


Kind = Literal["release", "recording"]

FILE_COLUMNS = """f.id, f.release_id, f.recording_id, f.name, f.media_type, f.storage_key,
                   f.status, f.size, f.sha256, f.created_at, f.stored_at"""
_RELEASE_COLUMNS = """r.id, r.program, r.version, r.released_on, r.notes_sl, r.notes_en,
                      r.created_at, r.published_at"""
_RECORDING_COLUMNS = """r.id, r.training_id, r.title, r.program, r.held_on, r.duration_s,
                        r.description, r.created_at, r.published_at"""

# $1 org (NULL: staff), $2 day, $3 drafts too. The licence in force on the day is the change with
# the latest valid_from on or before it (the latest recorded among those of one day); the order
# of a training in force is the latest change as of that day.
VISIBLE_RELEASES = """
    releases r
    WHERE (r.published_at IS NOT NULL OR $3::boolean)
      AND ($1::uuid IS NULL OR (
            SELECT c.licensed FROM licence_changes c
             WHERE c.org_id = $1 AND c.program = r.program AND c.valid_from <= $2::date
             ORDER BY c.valid_from DESC, c.id DESC LIMIT 1))"""
VISIBLE_RECORDINGS = """
    recordings r
    WHERE (r.published_at IS NOT NULL OR $3::boolean)
      AND ($1::uuid IS NULL OR (
            SELECT o.ordered FROM training_order_changes o
             WHERE o.org_id = $1 AND o.training_id = r.training_id
               AND (o.as_of AT TIME ZONE 'Europe/Ljubljana')::date <= $2::date
             ORDER BY o.as_of DESC, o.id DESC LIMIT 1))"""


Item = TypeVar("Item", Release, Recording)


def viewer_args(viewer: Viewer) -> tuple[uuid.UUID | None, date, bool]:
    return viewer.org_id, viewer.day, viewer.drafts


@dataclass(frozen=True)
class Listing(Generic[Item]):
    """What differs between releases and recordings: their kind (and table, `<kind>s`), which
    rows the viewer sees, their columns, and the day they are listed by (newest first, then
    id)."""

    kind: Kind
    visible: str
    columns: str
    day_column: str
    row: Callable[..., Item]


RELEASES = Listing("release", VISIBLE_RELEASES, _RELEASE_COLUMNS, "released_on", Release)
RECORDINGS = Listing("recording", VISIBLE_RECORDINGS, _RECORDING_COLUMNS, "held_on", Recording)


async def visible_item(
    conn: Connection, listing: Listing[Item], item_id: uuid.UUID, viewer: Viewer
) -> Item:
    row = await conn.fetchrow(
        f"SELECT {listing.columns} FROM {listing.visible} AND r.id = $4",
        *viewer_args(viewer),
        item_id,
    )
    if row is None:
        raise NotFoundError(listing.kind)
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
        *viewer_args(viewer),
        program,
        after[0] if after else None,
        after[1] if after else None,
        limit + 1,
    )
    return [listing.row(**row) for row in rows]


async def lock_draft(
    conn: Connection, kind: Kind, owner_id: uuid.UUID, *, mode: Literal["UPDATE", "SHARE"]
) -> bool:
    """Lock a release or recording (FOR UPDATE to publish it, FOR SHARE to add a file to it)
    and say whether it is published; `NotFoundError` when there is none."""
    published = await conn.fetchval(
        f"SELECT published_at IS NOT NULL FROM {kind}s WHERE id = $1 FOR {mode}", owner_id
    )
    if published is None:
        raise NotFoundError(kind)
    return bool(published)


async def publish(
    conn: Connection, listing: Listing[Item], item_id: uuid.UUID, *, by: uuid.UUID, at: datetime
) -> tuple[Item, int]:
    """Publish a draft that has its files (a recording: its video); return it and its number
    of files."""
    stored = await _check_publishable(conn, listing.kind, item_id)
    row = await conn.fetchrow(
        f"""UPDATE {listing.kind}s r SET published_at = $2, published_by = $3 WHERE id = $1
            RETURNING {listing.columns}""",
        item_id,
        at,
        by,
    )
    assert row is not None
    return listing.row(**row), stored


async def _check_publishable(conn: Connection, kind: Kind, owner_id: uuid.UUID) -> int:
    """Lock a draft for publishing (uploads to it wait, or it waits for them to begin) and
    return its number of stored files; raise unless it can be published."""
    if not conn.is_in_transaction():
        raise RuntimeError("publishing runs inside the caller's transaction")
    if await lock_draft(conn, kind, owner_id, mode="UPDATE"):
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
