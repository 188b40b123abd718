"""Receiving a file: a `receiving` row first, then the bytes streamed into the store through the
checks (services/content/intake.py), then the row completed. Whatever stops an upload midway (a
refused type, the size limit, a client that went away, a checksum that does not match) leaves
neither bytes nor row behind; a process that dies midway leaves a `receiving` row, which the
sweep (`sweep_stale_uploads`) clears with its bytes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog
from obstore.store import ObjectStore

from services.content import attachment_repository, file_repository, repository, storage
from services.content.attachment_repository import TicketOwner
from services.content.filetypes import FileType
from services.content.intake import Intake
from services.runtime.clock import Clock
from services.runtime.db import Connection

log = structlog.get_logger(__name__)


class ChecksumMismatchError(ValueError):
    """The bytes received do not have the SHA-256 the uploader said they have."""


OnStored = Callable[[Connection, repository.StoredFile], Awaitable[None]]


@dataclass(frozen=True)
class Upload:
    owner: file_repository.Owner | TicketOwner
    """A release's or recording's draft, or a ticket (an attachment)."""
    name: str
    file_type: FileType
    max_bytes: int
    expected_sha256: str | None
    by: uuid.UUID
    on_stored: OnStored | None = None
    """Runs in the transaction that completes the file (an attachment announces itself)."""


async def _begin(conn: Connection, upload: Upload, *, at: datetime) -> repository.StoredFile:
    """The `receiving` row of the upload, with its owner's checks."""
    media_type = upload.file_type.media_type
    if isinstance(upload.owner, TicketOwner):
        return await attachment_repository.begin_attachment(
            conn, owner=upload.owner, name=upload.name, media_type=media_type, by=upload.by, at=at
        )
    return await file_repository.begin_file(
        conn, owner=upload.owner, name=upload.name, media_type=media_type, by=upload.by, at=at
    )


async def receive(
    pool: asyncpg.Pool,
    store: ObjectStore,
    upload: Upload,
    body: AsyncIterator[bytes],
    *,
    clock: Clock,
    part_bytes: int,
) -> repository.StoredFile:
    async with pool.acquire() as conn:
        begun = await _begin(conn, upload, at=clock.now())
    intake = Intake(upload.file_type, max_bytes=upload.max_bytes)
    try:
        await storage.write(store, begun.storage_key, intake.checked(body), part_bytes=part_bytes)
        if upload.expected_sha256 and upload.expected_sha256 != intake.sha256:
            raise ChecksumMismatchError(
                f"The file received has SHA-256 {intake.sha256}, not {upload.expected_sha256}."
            )
        async with pool.acquire() as conn, conn.transaction():
            stored = await file_repository.finish_file(
                conn, begun.id, size=intake.size, sha256=intake.sha256, at=clock.now()
            )
            if upload.on_stored is not None:
                await upload.on_stored(conn, stored)
    except BaseException as error:
        log.info(
            "upload abandoned",
            file_id=str(begun.id),
            received_bytes=intake.size,
            reason=repr(error),
        )
        # Shielded: a client that went away cancels the request, not the clean-up.
        await asyncio.shield(_discard(pool, store, begun))
        raise
    log.info(
        "file stored",
        file_id=str(stored.id),
        name=stored.name,
        size=stored.size,
        sha256=stored.sha256,
    )
    return stored


async def _discard(pool: asyncpg.Pool, store: ObjectStore, file: repository.StoredFile) -> None:
    try:
        await storage.discard_partial(store, file.storage_key)
        async with pool.acquire() as conn:
            await file_repository.forget_file(conn, file.id)
    except Exception as error:  # the sweep finishes it later
        log.warning(
            "clean-up of an abandoned upload failed", file_id=str(file.id), error=repr(error)
        )


async def sweep_stale_uploads(
    pool: asyncpg.Pool, store: ObjectStore, *, clock: Clock, stale_after_s: float, batch: int
) -> int:
    """Clear uploads left `receiving` by a process that died: bytes first, then the row."""
    async with pool.acquire() as conn:
        stale = await file_repository.stale_uploads(
            conn, before=clock.now() - timedelta(seconds=stale_after_s), limit=batch
        )
    for file in stale:
        await storage.discard_partial(store, file.storage_key)
        async with pool.acquire() as conn:
            await file_repository.forget_file(conn, file.id)
        log.info("stale upload cleared", file_id=str(file.id), since=file.created_at.isoformat())
    return len(stale)
