"""Serving a stored file the caller may see, for every download route: one byte range
(`Range`, honoured with `If-Range` while the ETag still matches) or the whole file, the
allow-list's type and `nosniff`, and a download record for every GET."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from obstore.store import ObjectStore

from services.content import file_repository, repository, storage
from services.content.filetypes import shown_inline
from services.content.ranges import ByteRange, RangeNotSatisfiableError, requested_range
from services.content.views import Store
from services.runtime.app import CurrentClock, Pool
from services.runtime.clock import Clock
from services.runtime.context import current_correlation_id
from services.runtime.db import Connection
from services.runtime.identity import CurrentPrincipal, Principal

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])

DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The whole file.", "content": {"application/octet-stream": {}}},
    206: {"description": "The one range of bytes asked for (`Range: bytes=a-b`)."},
    404: {"description": "No such file, or not for the caller."},
    416: {"description": "The range starts past the end of the file."},
}


def download_route(
    router: APIRouter, path: str, *, operation_id: str
) -> Callable[[Endpoint], Endpoint]:
    """A download route: GET answers with the bytes, HEAD (`<operation_id>_headers`) with the
    headers only."""

    def register(endpoint: Endpoint) -> Endpoint:
        for method, suffix in (("HEAD", "_headers"), ("GET", "")):
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                response_class=StreamingResponse,
                responses=DOWNLOAD_RESPONSES,
                operation_id=operation_id + suffix,
            )
        return endpoint

    return register


@dataclass(frozen=True)
class Downloader:
    """What a download route answers with, whatever the file: its request, caller and the
    service's parts."""

    request: Request
    principal: Principal
    pool: asyncpg.Pool
    clock: Clock
    store: ObjectStore

    async def of(self, find: Callable[[Connection], Awaitable[repository.StoredFile]]) -> Response:
        """Answer with the file `find` gives (it raises `NotFoundError` unless the caller may
        see it); a GET is recorded."""
        async with self.pool.acquire() as conn:
            file = await find(conn)
            served = await prepare(
                self.request, conn, file, principal=self.principal, clock=self.clock
            )
        return await respond(self.request, served, self.store)


def _downloader(
    request: Request, principal: CurrentPrincipal, pool: Pool, clock: CurrentClock, store: Store
) -> Downloader:
    return Downloader(request, principal, pool, clock, store)


Download = Annotated[Downloader, Depends(_downloader)]


@dataclass(frozen=True)
class Serving:
    """What to answer: the file, the part of it, the status and the headers."""

    file: repository.StoredFile
    part: ByteRange | None
    status: int
    headers: dict[str, str]


async def prepare(
    request: Request,
    conn: Connection,
    file: repository.StoredFile,
    *,
    principal: Principal,
    clock: Clock,
) -> Serving:
    """Decide the answer to a download of `file` (already authorized), and record a GET."""
    assert file.size is not None and file.sha256 is not None
    etag = f'"{file.sha256}"'
    if_range = request.headers.get("if-range")
    ranged = if_range is None or if_range == etag
    try:
        part = requested_range(request.headers.get("range"), file.size) if ranged else None
    except RangeNotSatisfiableError:
        raise HTTPException(
            416,
            f"The file has {file.size} bytes; the range asked for lies past its end.",
            headers={"Content-Range": f"bytes */{file.size}"},
        ) from None
    if request.method == "GET":
        await file_repository.record_download(
            conn,
            file_id=file.id,
            user_id=principal.user_id,
            org_id=principal.org_id,
            at=clock.now(),
            range_start=part.start if part else None,
            range_end=part.end if part else None,
            correlation_id=current_correlation_id(),
        )
    inline = shown_inline(file.media_type)
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Content-Length": str(part.length if part else file.size),
        "Content-Disposition": (
            f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(file.name)}"
        ),
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
        **({"Content-Range": part.content_range(file.size)} if part else {}),
    }
    return Serving(file, part, 206 if part else 200, headers)


async def respond(request: Request, serving: Serving, store: ObjectStore) -> Response:
    """The answer: headers only for HEAD, else the bytes streamed from the store."""
    file = serving.file
    if request.method == "HEAD":
        return Response(
            status_code=serving.status, headers=serving.headers, media_type=file.media_type
        )
    body = await storage.open_read(store, file.storage_key, serving.part)
    return StreamingResponse(
        body, status_code=serving.status, headers=serving.headers, media_type=file.media_type
    )
