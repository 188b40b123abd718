"""HTTP routes of vendor admins: releases and recordings with their files, who may see them
(as the ERP and the training system would say), and the record of downloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from contracts.common import EventModel
from contracts.content import PROGRAM, ReleaseAvailable, ReleasePublished
from services.content import entitlement_repository, file_repository, receiving, repository, storage
from services.content.receiving import UPLOAD_BODY, UPLOAD_ERRORS, IncomingFile
from services.content.views import (
    PREFIX,
    FileOut,
    RecordingOut,
    ReleaseOut,
    Store,
    file_out,
    recording_out,
    release_out,
    today,
)
from services.runtime import outbox
from services.runtime.app import CurrentClock, Pool
from services.runtime.context import current_correlation_id
from services.runtime.identity import VendorAdmin
from services.runtime.moments import Day, Moment
from services.runtime.paging import CursorPage, CursorParam, NoOffset, decode_cursor

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

    training_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
    title: Line
    program: str = PROGRAM
    held_on: Day
    duration_s: int = Field(ge=1, le=24 * 3600)
    description: Text = ""


class LicenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    program: str = PROGRAM
    licensed: bool
    valid_from: Day


class TrainingOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    training_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._:-]+$")
    ordered: bool
    as_of: Moment | None = Field(default=None, description="When it became true; default now.")


class LicencesOut(BaseModel):
    org_id: uuid.UUID
    licensed_today: list[str]
    changes: list[dict[str, Any]] = Field(description="Every change, by program, newest first.")


class TrainingOrdersOut(BaseModel):
    org_id: uuid.UUID
    changes: list[dict[str, Any]]


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
        try:
            release = await repository.create_release(
                conn, **body.model_dump(), by=principal.user_id, at=clock.now()
            )
        except repository.ConflictError as error:
            raise HTTPException(409, str(error)) from None
    return release_out(release, [], principal.language)


@router.post(
    "/releases/{release_id}/files",
    status_code=201,
    response_model=FileOut,
    openapi_extra=UPLOAD_BODY,
    responses=UPLOAD_ERRORS,
)
async def upload_release_file(
    release_id: uuid.UUID,
    incoming: IncomingFile,
    *,
    principal: VendorAdmin,
) -> FileOut:
    """Add a file to a draft release: the body is the file (`?name=setup.exe`)."""
    stored = await receiving.receive(
        incoming,
        "release",
        ("release", release_id),
        principal=principal,
    )
    return file_out(stored)


@router.post("/releases/{release_id}/publish", response_model=ReleaseOut)
async def publish_release(
    release_id: uuid.UUID, principal: VendorAdmin, pool: Pool, clock: CurrentClock
) -> ReleaseOut:
    """List the release to the licensed organizations and announce it: `ReleasePublished`, and
    `ReleaseAvailable` to each organization licensed today (its users are e-mailed)."""
    now = clock.now()
    async with pool.acquire() as conn, conn.transaction():
        try:
            release, file_count = await repository.publish_release(
                conn, release_id, by=principal.user_id, at=now
            )
        except repository.NotFoundError:
            raise HTTPException(404, "No such release.") from None
        except repository.ConflictError as error:
            raise HTTPException(409, str(error)) from None
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
            conn, release.program, today(clock)
        )
        events: list[EventModel] = [
            announced,
            *(
                ReleaseAvailable(
                    org_id=org_id,
                    **announced.model_dump(exclude={"file_count"}),
                )
                for org_id in licensed
            ),
        ]
        await outbox.enqueue_many(
            conn,
            [
                outbox.envelope_for(
                    event,
                    source="content",
                    aggregate_id=release.id,
                    aggregate_version=2,
                    org_id=getattr(event, "org_id", None),
                    correlation_id=current_correlation_id(),
                    occurred_at=now,
                )
                for event in events
            ],
        )
        files = await file_repository.files_of(conn, owner_ids=[release.id])
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


@router.put(
    "/recordings/{recording_id}/video",
    status_code=201,
    response_model=FileOut,
    openapi_extra=UPLOAD_BODY,
    responses=UPLOAD_ERRORS,
)
async def upload_video(
    recording_id: uuid.UUID,
    incoming: IncomingFile,
    *,
    principal: VendorAdmin,
) -> FileOut:
    """The recording's video (MP4 or WebM): the body is the file (`?name=training.mp4`)."""
    stored = await receiving.receive(
        incoming,
        "recording",
        ("recording", recording_id),
        principal=principal,
    )
    return file_out(stored)


@router.post("/recordings/{recording_id}/publish", response_model=RecordingOut)
async def publish_recording(
    recording_id: uuid.UUID, principal: VendorAdmin, pool: Pool, clock: CurrentClock
) -> RecordingOut:
    """Show the recording to the organizations that ordered its training."""
    async with pool.acquire() as conn, conn.transaction():
        try:
            recording = await repository.publish_recording(
                conn, recording_id, by=principal.user_id, at=clock.now()
            )
        except repository.NotFoundError:
            raise HTTPException(404, "No such recording.") from None
        except repository.ConflictError as error:
            raise HTTPException(409, str(error)) from None
        files = await file_repository.files_of(conn, owner_ids=[recording.id])
    return recording_out(recording, files)


@router.delete("/files/{file_id}", status_code=204, response_class=Response)
async def delete_file(
    file_id: uuid.UUID, principal: VendorAdmin, pool: Pool, store: Store
) -> Response:
    """Remove a file from a draft (published content keeps its files)."""
    async with pool.acquire() as conn:
        try:
            file = await file_repository.delete_draft_file(conn, file_id)
        except repository.NotFoundError:
            raise HTTPException(404, "No such file.") from None
        except repository.ConflictError as error:
            raise HTTPException(409, str(error)) from None
    await storage.delete(store, file.storage_key)
    return Response(status_code=204)


@router.post("/organizations/{org_id}/licences", status_code=201)
async def record_licence(
    org_id: uuid.UUID, body: LicenceIn, principal: VendorAdmin, pool: Pool, clock: CurrentClock
) -> dict[str, str]:
    """Record a licence change (as the ERP would): licensed for the program from `valid_from`,
    or no longer from that day."""
    async with pool.acquire() as conn:
        await entitlement_repository.record_licence(
            conn,
            org_id=org_id,
            **body.model_dump(),
            source=f"admin:{principal.user_id}",
            recorded_at=clock.now(),
        )
    return {"status": "recorded"}


@router.get("/organizations/{org_id}/licences", response_model=LicencesOut)
async def licences(
    org_id: uuid.UUID, principal: VendorAdmin, pool: Pool, clock: CurrentClock
) -> LicencesOut:
    async with pool.acquire() as conn:
        licensed = await entitlement_repository.licensed_programs(conn, org_id, today(clock))
        changes = await entitlement_repository.licence_changes(conn, org_id)
    return LicencesOut(org_id=org_id, licensed_today=licensed, changes=[vars(c) for c in changes])


@router.post("/organizations/{org_id}/training-orders", status_code=201)
async def record_training_order(
    org_id: uuid.UUID,
    body: TrainingOrderIn,
    principal: VendorAdmin,
    pool: Pool,
    clock: CurrentClock,
) -> dict[str, str]:
    """Record that the organization ordered a training, or no longer (as the training system
    would)."""
    now = clock.now()
    async with pool.acquire() as conn:
        await entitlement_repository.record_training_order(
            conn,
            org_id=org_id,
            training_id=body.training_id,
            ordered=body.ordered,
            as_of=body.as_of or now,
            source=f"admin:{principal.user_id}",
            recorded_at=now,
        )
    return {"status": "recorded"}


@router.get("/organizations/{org_id}/training-orders", response_model=TrainingOrdersOut)
async def training_orders(
    org_id: uuid.UUID, principal: VendorAdmin, pool: Pool
) -> TrainingOrdersOut:
    async with pool.acquire() as conn:
        changes = await entitlement_repository.training_order_changes(conn, org_id)
    return TrainingOrdersOut(org_id=org_id, changes=[vars(c) for c in changes])


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
    after = None
    if cursor:
        at, download_id = decode_cursor(cursor, datetime, int)
        assert isinstance(at, datetime) and isinstance(download_id, int)
        after = at, download_id
    async with pool.acquire() as conn:
        rows = await file_repository.downloads(
            conn,
            file_id=file_id,
            org_id=org_id,
            user_id=user_id,
            after=after,
            limit=limit,
        )
    return CursorPage[DownloadOut].of(
        rows,
        limit=limit,
        item=lambda d: DownloadOut(**vars(d)),
        key=lambda d: (d.downloaded_at, d.id),
    )
