"""HTTP routes of vendor admins: releases and recordings with their files, and the record of
downloads (who may see them: entitlements_api.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.content import PROGRAM, TRAINING_ID
from services.content import file_repository, publishing, receiving, repository, storage
from services.content.file_repository import Owner
from services.content.receiving import IncomingFile, upload_route
from services.content.views import (
    PREFIX,
    FileOut,
    RecordingOut,
    ReleaseOut,
    Store,
    file_out,
    recording_out,
    release_out,
)
from services.runtime.app import CurrentClock, Pool
from services.runtime.identity import VendorAdmin
from services.runtime.moments import Day
from services.runtime.paging import CursorPage, CursorParam, NoOffset, after_cursor

router = APIRouter(prefix=PREFIX, tags=["content administration"])

Text = Annotated[str, Field(max_length=20_000)]
Line = Annotated[str, Field(min_length=1, max_length=200)]


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    program: str = PROGRAM
    version: str = Field(min_length=1, max_length=50, pattern=r"^[\w.+-]+$")
    released_on: Day
    notes_sl: Text = ""
    notes_en: Text = ""


class RecordingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    training_id: str = TRAINING_ID
    title: Line
    program: str = PROGRAM
    held_on: Day
    duration_s: int = Field(ge=1, le=24 * 3600)
    description: Text = ""


class DownloadOut(BaseModel):
    id: int
    file_id: uuid.UUID
    file_name: str
    user_id: uuid.UUID
    org_id: uuid.UUID
    downloaded_at: datetime
    range_start: int | None
    range_end: int | None


@router.post("/releases", status_code=201, response_model=ReleaseOut)
async def create_release(
    body: ReleaseIn, principal: VendorAdmin, pool: Pool, clock: CurrentClock
) -> ReleaseOut:
    """A draft release; customers see it once it has its files and is published."""
    async with pool.acquire() as conn:
        release = await repository.create_release(
            conn, **body.model_dump(), by=principal.user_id, at=clock.now()
        )
    return release_out(release, [], principal.language)


@upload_route(router, "/releases/{release_id}/files", response_model=FileOut)
async def upload_release_file(
    release_id: uuid.UUID, incoming: IncomingFile, *, principal: VendorAdmin
) -> FileOut:
    """Add a file to a draft release: the body is the file (`?name=setup.exe`)."""
    owner: Owner = ("release", release_id)
    return file_out(await receiving.receive(incoming, "release", owner, principal=principal))


@router.post("/releases/{release_id}/publish", response_model=ReleaseOut)
async def publish_release(
    release_id: uuid.UUID, principal: VendorAdmin, pool: Pool, clock: CurrentClock
) -> ReleaseOut:
    """List the release to the licensed organizations and announce it: `ReleasePublished`, and
    `ReleaseAvailable` to each organization licensed today (its users are e-mailed)."""
    release, files = await publishing.publish(
        pool, repository.RELEASES, release_id, by=principal.user_id, now=clock.now()
    )
    return release_out(release, files, principal.language)


@router.post("/recordings", status_code=201, response_model=RecordingOut)
async def create_recording(
    body: RecordingIn, principal: VendorAdmin, pool: Pool, clock: CurrentClock
) -> RecordingOut:
    """A draft recording of a training; its video is uploaded next, then it is published."""
    async with pool.acquire() as conn:
        recording = await repository.create_recording(
            conn, **body.model_dump(), by=principal.user_id, at=clock.now()
        )
    return recording_out(recording, [])


@upload_route(router, "/recordings/{recording_id}/video", response_model=FileOut, method="PUT")
async def upload_video(
    recording_id: uuid.UUID, incoming: IncomingFile, *, principal: VendorAdmin
) -> FileOut:
    """The recording's video (MP4 or WebM): the body is the file (`?name=training.mp4`)."""
    owner: Owner = ("recording", recording_id)
    return file_out(await receiving.receive(incoming, "recording", owner, principal=principal))


@router.post("/recordings/{recording_id}/publish", response_model=RecordingOut)
async def publish_recording(
    recording_id: uuid.UUID, principal: VendorAdmin, pool: Pool, clock: CurrentClock
) -> RecordingOut:
    """Show the recording to the organizations that ordered its training."""
    recording, files = await publishing.publish(
        pool, repository.RECORDINGS, recording_id, by=principal.user_id, now=clock.now()
    )
    return recording_out(recording, files)


@router.delete("/files/{file_id}", status_code=204, response_class=Response)
async def delete_file(
    file_id: uuid.UUID, principal: VendorAdmin, pool: Pool, store: Store
) -> Response:
    """Remove a file from a draft (published content keeps its files)."""
    async with pool.acquire() as conn:
        file = await file_repository.delete_draft_file(conn, file_id)
    await storage.delete(store, file.storage_key)
    return Response(status_code=204)


@router.get("/downloads", response_model=CursorPage[DownloadOut], dependencies=[NoOffset])
async def list_downloads(
    principal: VendorAdmin,
    pool: Pool,
    *,
    file_id: uuid.UUID | None = None,
    org_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    cursor: CursorParam = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> CursorPage[DownloadOut]:
    """Who downloaded what and when, newest first (a video's range requests each count)."""
    after = after_cursor(cursor, datetime, int)
    async with pool.acquire() as conn:
        rows = await file_repository.downloads(
            conn, file_id=file_id, org_id=org_id, user_id=user_id, after=after, limit=limit
        )
    return CursorPage[DownloadOut].of(
        rows,
        limit=limit,
        item=lambda d: DownloadOut(**vars(d)),
        key=lambda d: (d.downloaded_at, d.id),
    )
