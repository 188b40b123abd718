"""Publishing a draft release or recording: the state change and, for a release, its
announcements (`ReleasePublished`, and `ReleaseAvailable` to each organization licensed today,
whose users are e-mailed) in one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from contracts.common import EventModel
from contracts.content import ReleaseAvailable, ReleasePublished
from services.content import entitlement_repository, file_repository, repository
from services.content.repository import Item, Listing, StoredFile
from services.runtime import outbox
from services.runtime.context import current_correlation_id
from services.runtime.db import Connection
from services.runtime.local_time import local

SOURCE = "content"


async def publish(
    pool: asyncpg.Pool, listing: Listing[Item], item_id: uuid.UUID, *, by: uuid.UUID, now: datetime
) -> tuple[Item, list[StoredFile]]:
    """Publish the draft (it needs its files); a release is announced as well. Return it with
    its files."""
    async with pool.acquire() as conn, conn.transaction():
        item, file_count = await repository.publish(conn, listing, item_id, by=by, at=now)
        if isinstance(item, repository.Release):
            await _announce(conn, item, file_count, now=now)
        return item, await file_repository.files_of(conn, owner_ids=[item.id])


async def _announce(
    conn: Connection, release: repository.Release, file_count: int, *, now: datetime
) -> None:
    announced = ReleasePublished(
        release_id=release.id,
        program=release.program,
        version=release.version,
        released_on=release.released_on,
        notes_sl=release.notes_sl,
        notes_en=release.notes_en,
        file_count=file_count,
    )
    licensed = await entitlement_repository.licensed_organizations(
        conn, release.program, local(now).date()
    )
    events: list[EventModel] = [
        announced,
        *(
            ReleaseAvailable(org_id=org_id, **announced.model_dump(exclude={"file_count"}))
            for org_id in licensed
        ),
    ]
    await outbox.enqueue_many(
        conn,
        [
            outbox.envelope_for(
                event,
                source=SOURCE,
                aggregate_id=release.id,
                aggregate_version=2,
                org_id=getattr(event, "org_id", None),
                correlation_id=current_correlation_id(),
                occurred_at=now,
            )
            for event in events
        ],
    )
