"""HTTP routes every portal user has: releases, recordings, and the files' downloads."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse

from services.content import entitlement_repository, file_repository, repository, serving
from services.content.serving import DOWNLOAD_RESPONSES
from services.content.views import (
    PREFIX,
    RecordingOut,
    ReleaseOut,
    Store,
    recording_out,
    release_out,
    viewer_of,
)
from services.runtime.app import CurrentClock, Pool
from services.runtime.identity import CurrentPrincipal
from services.runtime.paging import CursorPage, CursorParam, NoOffset, decode_cursor

router = APIRouter(prefix=PREFIX, tags=["content"])

Program = Annotated[str | None, Query(min_length=1, max_length=100)]
Limit = Annotated[int, Query(ge=1, le=100)]
Drafts = Annotated[bool, Query(description="Vendor admins: include drafts.")]


def _day_and_id(cursor: str | None) -> tuple[date, uuid.UUID] | None:
    """The sort key of a list of releases or recordings from its cursor."""
    if cursor is None:
        return None
    day, item_id = decode_cursor(cursor, date, uuid.UUID)
    assert isinstance(day, date) and isinstance(item_id, uuid.UUID)
    return day, item_id


@router.get("/programs", response_model=list[str])
async def licensed_programs(
    principal: CurrentPrincipal, pool: Pool, clock: CurrentClock
) -> list[str]:
    """The programs the caller's organization is licensed for today."""
    viewer = viewer_of(principal, clock)
    async with pool.acquire() as conn:
        return await entitlement_repository.licensed_programs(conn, principal.org_id, viewer.day)


async def _visible_page(
    pool: asyncpg.Pool,
    listing: repository.Listing[repository.Item],
    viewer: repository.Viewer,
    *,
    program: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[repository.Item], list[repository.StoredFile]]:
    """Up to `limit + 1` releases or recordings the viewer sees after the cursor, and the files
    of the first `limit` of them."""
    async with pool.acquire() as conn:
        items = await repository.visible_items(
            conn, listing, viewer, program=program, after=_day_and_id(cursor), limit=limit
        )
        files = await file_repository.files_of(conn, owner_ids=[r.id for r in items[:limit]])
    return items, files


@router.get("/releases", response_model=CursorPage[ReleaseOut], dependencies=[NoOffset])
async def list_releases(
    principal: CurrentPrincipal,
    pool: Pool,
    clock: CurrentClock,
    *,
    program: Program = None,
    cursor: CursorParam = None,
    limit: Limit = 20,
    drafts: Drafts = False,
) -> CursorPage[ReleaseOut]:
    """Releases of the programs the caller's organization is licensed for, newest first."""
    viewer = viewer_of(principal, clock, drafts=drafts)
    releases, files = await _visible_page(
        pool, repository.RELEASES, viewer, program=program, cursor=cursor, limit=limit
    )
    return CursorPage[ReleaseOut].of(
        releases,
        limit=limit,
        item=lambda r: release_out(r, files, principal.language),
        key=lambda r: (r.released_on, r.id),
    )


@router.get("/releases/{release_id}", response_model=ReleaseOut)
async def get_release(
    release_id: uuid.UUID, principal: CurrentPrincipal, pool: Pool, clock: CurrentClock
) -> ReleaseOut:
    viewer = viewer_of(principal, clock, drafts="vendor_admin" in principal.roles)
    async with pool.acquire() as conn:
        try:
            release = await repository.visible_item(conn, repository.RELEASES, release_id, viewer)
        except repository.NotFoundError:
            raise HTTPException(404, "No such release.") from None
        files = await file_repository.files_of(conn, owner_ids=[release.id])
    return release_out(release, files, principal.language)


@router.get("/recordings", response_model=CursorPage[RecordingOut], dependencies=[NoOffset])
async def list_recordings(
    principal: CurrentPrincipal,
    pool: Pool,
    clock: CurrentClock,
    *,
    program: Program = None,
    cursor: CursorParam = None,
    limit: Limit = 20,
    drafts: Drafts = False,
) -> CursorPage[RecordingOut]:
    """Recordings of the trainings the caller's organization ordered, newest first."""
    viewer = viewer_of(principal, clock, drafts=drafts)
    recordings, files = await _visible_page(
        pool, repository.RECORDINGS, viewer, program=program, cursor=cursor, limit=limit
    )
    return CursorPage[RecordingOut].of(
        recordings,
        limit=limit,
        item=lambda r: recording_out(r, files),
        key=lambda r: (r.held_on, r.id),
    )


@router.get("/recordings/{recording_id}", response_model=RecordingOut)
async def get_recording(
    recording_id: uuid.UUID, principal: CurrentPrincipal, pool: Pool, clock: CurrentClock
) -> RecordingOut:
    viewer = viewer_of(principal, clock, drafts="vendor_admin" in principal.roles)
    async with pool.acquire() as conn:
        try:
            recording = await repository.visible_item(
                conn, repository.RECORDINGS, recording_id, viewer
            )
        except repository.NotFoundError:
            raise HTTPException(404, "No such recording.") from None
        files = await file_repository.files_of(conn, owner_ids=[recording.id])
    return recording_out(recording, files)


@router.get(
    "/files/{file_id}",
    response_class=StreamingResponse,
    responses=DOWNLOAD_RESPONSES,
    operation_id="download_file",
)
@router.head(
    "/files/{file_id}",
    response_class=StreamingResponse,
    responses=DOWNLOAD_RESPONSES,
    operation_id="download_file_headers",
)
async def download(
    file_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    *,
    pool: Pool,
    clock: CurrentClock,
    store: Store,
) -> Response:
    """A file of a release or recording the caller may see; every GET is recorded. One byte
    range (`Range`, honoured with `If-Range` when the ETag still matches) answers 206."""
    viewer = viewer_of(principal, clock, drafts="vendor_admin" in principal.roles)
    async with pool.acquire() as conn:
        try:
            file = await file_repository.visible_file(conn, file_id, viewer)
        except repository.NotFoundError:
            raise HTTPException(404, "No such file.") from None
        served = await serving.prepare(request, conn, file, principal=principal, clock=clock)
    return await serving.respond(request, served, store)
