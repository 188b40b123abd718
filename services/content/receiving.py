"""An upload route's part that every kind of file shares: the route's shape (`upload_route`),
the name and type checked before a byte is read, the size limit said up front, and the body
streamed in (services/content/uploads.py). The refusals are answered as the service's
`DOMAIN_ERRORS` say (services/content/views.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from obstore.store import ObjectStore
from starlette.requests import ClientDisconnect

from services.content import file_repository, repository, uploads
from services.content.attachment_repository import TicketOwner
from services.content.filetypes import Kind, UnsupportedTypeError, checked_name, type_for
from services.content.intake import TooLargeError
from services.content.settings import ContentSettings
from services.content.views import Settings, Store
from services.runtime.app import CurrentClock, Pool
from services.runtime.bodies import STREAMED_BODY
from services.runtime.clock import Clock
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


def upload_route(
    router: APIRouter,
    path: str,
    *,
    response_model: type[Any],
    responses: dict[int | str, dict[str, Any]] = UPLOAD_ERRORS,
    method: str = "POST",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """An upload route: its body is the file's bytes, streamed; 201 with what was stored."""
    return router.api_route(
        path,
        methods=[method],
        status_code=201,
        response_model=response_model,
        openapi_extra=UPLOAD_BODY,
        responses=responses,
    )


@dataclass(frozen=True)
class Incoming:
    """What every upload route takes besides its owner and its caller: the request whose body is
    the file, the `name` and `sha256` query parameters, and the service's parts."""

    request: Request
    name: str
    sha256: str | None
    pool: asyncpg.Pool
    clock: Clock
    store: ObjectStore
    settings: ContentSettings


def _incoming(
    request: Request,
    name: FileName,
    *,
    pool: Pool,
    clock: CurrentClock,
    store: Store,
    settings: Settings,
    sha256: Sha256 = None,
) -> Incoming:
    return Incoming(request, name, sha256, pool, clock, store, settings)


IncomingFile = Annotated[Incoming, Depends(_incoming)]


async def receive(
    incoming: Incoming,
    kind: Kind,
    owner: file_repository.Owner | TicketOwner,
    *,
    principal: Principal,
    on_stored: uploads.OnStored | None = None,
) -> repository.StoredFile:
    """Receive the request's body as a file of `kind` for `owner`; nothing stays on a refusal."""
    request, settings = incoming.request, incoming.settings
    name = checked_name(incoming.name)
    file_type = type_for(kind, name)
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not file_type.accepts_declared(declared):
        raise UnsupportedTypeError(
            f"The upload says it is {declared}, but {name!r} is {file_type.media_type}."
        )
    max_bytes = settings.max_bytes(kind)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise TooLargeError(f"A {kind} file is at most {max_bytes:,} bytes.")
    upload = uploads.Upload(
        owner, name, file_type, max_bytes, incoming.sha256, principal.user_id, on_stored=on_stored
    )
    try:
        return await uploads.receive(
            incoming.pool,
            incoming.store,
            upload,
            request.stream(),
            clock=incoming.clock,
            part_bytes=settings.upload_part_bytes,
        )
    except ClientDisconnect:  # nobody reads the answer; the upload has been discarded
        raise HTTPException(400, "The upload broke off before its end.") from None
