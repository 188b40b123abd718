"""HTTP routes every portal user has: releases, recordings, and the files' downloads."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, TypeVar

import asyncpg
from fastapi import APIRouter, Depends, Query, Response

from services.content import entitlement_repository, file_repository, repository
from services.content.repository import Item, Listing, StoredFile, Viewer
from services.content.serving import Download, download_route
from services.content.views import (
    PREFIX,
    RecordingOut,
    ReleaseOut,
    reader_of,
    recording_out,
    release_out,
    viewer_of,
)
from services.runtime.app import CurrentClock, Pool
from services.runtime.identity import CurrentPrincipal
from services.runtime.paging import CursorPage, CursorParam, NoOffset, after_cursor

router = APIRouter(prefix=PREFIX, tags=["content"])

Out = TypeVar("Out", ReleaseOut, RecordingOut)


@dataclass(frozen=True)
class ItemsAsked:
    """What a list of releases or recordings is asked for: by whom, which program, which page."""

    viewer: Viewer
    program: str | None
    after: tuple[date, uuid.UUID] | None
    limit: int


def _items_asked(
    principal: CurrentPrincipal,
    clock: CurrentClock,
    *,
    program: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    drafts: Annotated[bool, Query(description="Vendor admins: include drafts.")] = False,
) -> ItemsAsked:
    after = after_cursor(cursor, date, uuid.UUID)
    return ItemsAsked(viewer_of(principal, clock, drafts=drafts), program, after, limit)


Asked = Annotated[ItemsAsked, Depends(_items_asked)]


async def _visible_page(
    pool: asyncpg.Pool,
    listing: Listing[Item],
    asked: ItemsAsked,
    out: Callable[[Item, list[StoredFile]], Out],
) -> CursorPage[Out]:
    """The page of releases or recordings the viewer sees after the cursor, with their files."""
    async with pool.acquire() as conn:
        items = await repository.visible_items(
            conn,
            listing,
            asked.viewer,
            program=asked.program,
            after=asked.after,
            limit=asked.limit,
        )
        files = await file_repository.files_of(conn, owner_ids=[r.id for r in items[: asked.limit]])
    return CursorPage[Out].of(
        items,
        limit=asked.limit,
        item=lambda item: out(item, files),
        key=lambda item: (getattr(item, listing.day_column), item.id),
    )


async def _visible_one(
    pool: asyncpg.Pool, listing: Listing[Item], item_id: uuid.UUID, viewer: Viewer
) -> tuple[Item, list[StoredFile]]:
    """A release or recording the viewer sees (`NotFoundError` otherwise), with its files."""
    async with pool.acquire() as conn:
        item = await repository.visible_item(conn, listing, item_id, viewer)
        return item, await file_repository.files_of(conn, owner_ids=[item.id])


@router.get("/programs", response_model=list[str])
async def licensed_programs(
    principal: CurrentPrincipal, pool: Pool, clock: CurrentClock
) -> list[str]:
    """The programs the caller's organization is licensed for today."""
    viewer = viewer_of(principal, clock)
    async with pool.acquire() as conn:
        return await entitlement_repository.licensed_programs(conn, principal.org_id, viewer.day)


@router.get("/releases", response_model=CursorPage[ReleaseOut], dependencies=[NoOffset])
async def list_releases(
    principal: CurrentPrincipal, pool: Pool, asked: Asked
) -> CursorPage[ReleaseOut]:
    """Releases of the programs the caller's organization is licensed for, newest first."""
    return await _visible_page(
        pool,
        repository.RELEASES,
        asked,
        lambda release, files: release_out(release, files, principal.language),
    )


@router.get("/releases/{release_id}", response_model=ReleaseOut)
async def get_release(
    release_id: uuid.UUID, principal: CurrentPrincipal, pool: Pool, clock: CurrentClock
) -> ReleaseOut:
    viewer = reader_of(principal, clock)
    release, files = await _visible_one(pool, repository.RELEASES, release_id, viewer)
    return release_out(release, files, principal.language)


@router.get("/recordings", response_model=CursorPage[RecordingOut], dependencies=[NoOffset])
async def list_recordings(pool: Pool, asked: Asked) -> CursorPage[RecordingOut]:
    """Recordings of the trainings the caller's organization ordered, newest first."""
    return await _visible_page(pool, repository.RECORDINGS, asked, recording_out)


@router.get("/recordings/{recording_id}", response_model=RecordingOut)
async def get_recording(
    recording_id: uuid.UUID, principal: CurrentPrincipal, pool: Pool, clock: CurrentClock
) -> RecordingOut:
    viewer = reader_of(principal, clock)
    return recording_out(*await _visible_one(pool, repository.RECORDINGS, recording_id, viewer))


@download_route(router, "/files/{file_id}", operation_id="download_file")
async def download(file_id: uuid.UUID, download: Download) -> Response:
    """A file of a release or recording the caller may see; every GET is recorded. One byte
    range (`Range`, honoured with `If-Range` when the ETag still matches) answers 206."""
    viewer = reader_of(download.principal, download.clock)
    return await download.of(lambda conn: file_repository.visible_file(conn, file_id, viewer))
