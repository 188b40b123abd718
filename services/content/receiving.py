"""An upload route's part that every kind of file shares: the name and type checked before a
byte is read, the size limit said up front, the body streamed in (services/content/uploads.py),
and every refusal turned into its status code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException, Query, Request
from starlette.requests import ClientDisconnect

from services.content import file_repository, repository, uploads
from services.content.attachment_repository import TicketOwner
from services.content.filetypes import (
    BadNameError,
    Kind,
    UnsupportedTypeError,
    checked_name,
    type_for,
)
from services.content.intake import TooLargeError
from services.content.settings import ContentSettings
from services.content.views import Store
from services.runtime.app import CurrentClock, Pool
from services.runtime.bodies import STREAMED_BODY
from services.runtime.identity import Principal

Sha256 = Annotated[
    str | None,
    Query(pattern=r"^[0-9a-f]{64}$", description="The file's SHA-256, checked on arrival."),
]
FileName = Annotated[str, Query(min_length=1, max_length=300, description="The file's name.")]
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes as they are (not a form); streamed, never held whole.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    **STREAMED_BODY,  # the kind's own limit (CONTENT_*_MAX_BYTES), checked as the bytes arrive
}
UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {"description": "Published already, or a file of that name exists."},
    413: {"description": "Larger than the kind's limit."},
    415: {"description": "Not on the kind's allow-list, or the bytes are not of that type."},
    422: {"description": "A name that is a path, or a SHA-256 that does not match."},
}


async def receive(
    request: Request,
    kind: Kind,
    owner: file_repository.Owner | TicketOwner,
    name: str,
    sha256: str | None,
    *,
    principal: Principal,
    pool: Pool,
    clock: CurrentClock,
    store: Store,
    settings: ContentSettings,
    on_stored: uploads.OnStored | None = None,
) -> repository.StoredFile:
    """Receive the request's body as a file of `kind` for `owner`; nothing stays on a refusal."""
    try:
        name = checked_name(name)
    except BadNameError as error:
        raise HTTPException(422, str(error)) from None
    try:
        file_type = type_for(kind, name)
    except UnsupportedTypeError as error:
        raise HTTPException(415, str(error)) from None
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not file_type.accepts_declared(declared):
        raise HTTPException(
            415, f"The upload says it is {declared}, but {name!r} is {file_type.media_type}."
        )
    max_bytes = settings.max_bytes(kind)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise HTTPException(413, f"A {kind} file is at most {max_bytes:,} bytes.")
    upload = uploads.Upload(
        owner, name, file_type, max_bytes, sha256, principal.user_id, on_stored=on_stored
    )
    try:
        return await uploads.receive(
            pool,
            store,
            upload,
            request.stream(),
            clock=clock,
            part_bytes=settings.upload_part_bytes,
        )
    except repository.NotFoundError:
        raise HTTPException(404, f"No such {kind}.") from None
    except repository.ConflictError as error:
        raise HTTPException(409, str(error)) from None
    except TooLargeError as error:
        raise HTTPException(413, str(error)) from None
    except UnsupportedTypeError as error:
        raise HTTPException(415, str(error)) from None
    except uploads.ChecksumMismatchError as error:
        raise HTTPException(422, str(error)) from None
    except ClientDisconnect:  # nobody reads the answer; the upload has been discarded
        raise HTTPException(400, "The upload broke off before its end.") from None
