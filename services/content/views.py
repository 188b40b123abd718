"""What the content API answers with, how its refusals are answered, and the dependencies its
routes share."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from obstore.store import ObjectStore
from pydantic import BaseModel, Field

from contracts.common import Language
from services.content import repository
from services.content.filetypes import BadNameError, UnsupportedTypeError
from services.content.intake import TooLargeError
from services.content.settings import ContentSettings
from services.content.uploads import ChecksumMismatchError
from services.runtime.clock import Clock
from services.runtime.identity import Principal
from services.runtime.local_time import local
from services.runtime.problems import DomainErrors

PREFIX = "/api/content"

DOMAIN_ERRORS: DomainErrors = {
    repository.NotFoundError: 404,
    repository.ConflictError: 409,
    TooLargeError: 413,
    UnsupportedTypeError: 415,
    BadNameError: 422,
    ChecksumMismatchError: 422,
}
"""The content rules' refusals and the problems they are answered with (services/runtime/
problems.py); the routes and the upload let them out."""


class FileOut(BaseModel):
    id: uuid.UUID
    name: str
    media_type: str
    size: int
    sha256: str
    url: str = Field(description="Where to download (or play) it; ranges are served.")
    stored_at: datetime


class ReleaseOut(BaseModel):
    id: uuid.UUID
    program: str
    version: str
    released_on: date
    notes: str = Field(description="The release notes in the reader's language.")
    notes_sl: str
    notes_en: str
    status: str = Field(description="`draft` (vendor admins only) or `published`.")
    published_at: datetime | None
    files: list[FileOut]


class RecordingOut(BaseModel):
    id: uuid.UUID
    training_id: str
    title: str
    program: str
    held_on: date
    duration_s: int
    description: str
    status: str
    published_at: datetime | None
    video: FileOut | None


def file_out(file: repository.StoredFile) -> FileOut:
    """A stored file (its size, checksum and time are known once it is stored)."""
    return FileOut(**vars(file), url=f"{PREFIX}/files/{file.id}")


def _status(item: repository.Release | repository.Recording) -> str:
    return "published" if item.published_at else "draft"


def release_out(
    release: repository.Release, files: list[repository.StoredFile], language: Language
) -> ReleaseOut:
    return ReleaseOut(
        **vars(release),
        notes=release.notes_sl if language == "sl" else release.notes_en,
        status=_status(release),
        files=[file_out(f) for f in files if f.release_id == release.id],
    )


def recording_out(
    recording: repository.Recording, files: list[repository.StoredFile]
) -> RecordingOut:
    video = next((f for f in files if f.recording_id == recording.id), None)
    return RecordingOut(
        **vars(recording), status=_status(recording), video=file_out(video) if video else None
    )


def today(clock: Clock) -> date:
    """The day licences and orders are judged by: today in Ljubljana."""
    return local(clock.now()).date()


def viewer_of(principal: Principal, clock: Clock, *, drafts: bool = False) -> repository.Viewer:
    """A customer sees their organization's content as of today in Ljubljana; drafts only a
    vendor admin."""
    if drafts and "vendor_admin" not in principal.roles:
        raise HTTPException(403, "Only a vendor administrator sees drafts.")
    return repository.Viewer(org_id=principal.org_scope, day=today(clock), drafts=drafts)


def reader_of(principal: Principal, clock: Clock) -> repository.Viewer:
    """Who reads one release, recording or file: a vendor admin drafts as well."""
    return viewer_of(principal, clock, drafts="vendor_admin" in principal.roles)


async def _store(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.store
    return store


async def _settings(request: Request) -> ContentSettings:
    settings: ContentSettings = request.app.state.settings
    return settings


Store = Annotated[ObjectStore, Depends(_store)]
Settings = Annotated[ContentSettings, Depends(_settings)]
