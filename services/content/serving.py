"""Serving a stored file the caller may see, for every download route: one byte range
(`Range`, honoured with `If-Range` while the ETag still matches) or the whole file, the
allow-list's type and `nosniff`, and a download record for every GET."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from obstore.store import ObjectStore

from services.content import file_repository, repository, storage
from services.content.filetypes import shown_inline
from services.content.ranges import ByteRange, RangeNotSatisfiableError, requested_range
from services.runtime.clock import Clock
from services.runtime.context import current_correlation_id
from services.runtime.db import Connection
from services.runtime.identity import Principal

DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The whole file.", "content": {"application/octet-stream": {}}},
    206: {"description": "The one range of bytes asked for (`Range: bytes=a-b`)."},
    404: {"description": "No such file, or not for the caller."},
    416: {"description": "The range starts past the end of the file."},
}


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
