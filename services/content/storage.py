"""Object storage for the files, through obstore (the Python binding of Rust's `object_store`):
a directory on the local filesystem by default, an S3 bucket (or an S3-compatible server) in
production. Nothing else in the service knows which one it is.

Keys are made by the service (`<kind>/<owner id>/<file id>`), never from a client's file name.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import obstore
import obstore.exceptions
from obstore.store import LocalStore, ObjectStore, S3Store

from services.content.ranges import ByteRange
from services.content.settings import ContentSettings

if TYPE_CHECKING:
    from obstore.store import S3Config

READ_CHUNK = 256 * 1024


def open_store(settings: ContentSettings) -> ObjectStore:
    """The store the settings name; a filesystem root is created when missing."""
    if settings.storage_backend == "filesystem":
        return LocalStore(settings.storage_path.resolve(), mkdir=True)
    assert settings.s3_bucket is not None  # the settings refuse s3 without a bucket
    config: S3Config = {"region": settings.s3_region}
    if settings.s3_endpoint:
        config["endpoint"] = settings.s3_endpoint
    if settings.s3_access_key_id:  # else from the environment (AWS_*, the pod's IAM role)
        config["access_key_id"] = settings.s3_access_key_id
    if settings.s3_secret_access_key:
        config["secret_access_key"] = settings.s3_secret_access_key.get_secret_value()
    return S3Store(
        settings.s3_bucket,
        config=config,
        client_options={"allow_http": settings.s3_allow_http},
    )


async def write(
    store: ObjectStore, key: str, chunks: AsyncIterator[bytes], *, part_bytes: int
) -> None:
    """Store the stream under `key`, a part at a time (at most two parts in memory). If the
    stream raises, the upload is aborted and nothing is left under `key`."""
    await obstore.put_async(store, key, chunks, chunk_size=part_bytes, max_concurrency=2)


class LostFileError(RuntimeError):
    """The database lists a stored file that the store does not have."""


async def open_read(store: ObjectStore, key: str, part: ByteRange | None) -> AsyncIterator[bytes]:
    """The file's bytes (or one range of them) as a stream of chunks. The store is asked here,
    before any answer starts, so a missing file or an unreachable store is an error status,
    not a cut-off body."""
    options = {"range": (part.start, part.end + 1)} if part is not None else {}
    try:
        result = await obstore.get_async(store, key, options=options)  # type: ignore[arg-type]
    except FileNotFoundError as error:
        raise LostFileError(key) from error

    async def chunks() -> AsyncIterator[bytes]:
        async for chunk in result.stream(min_chunk_size=READ_CHUNK):
            yield bytes(chunk)

    return chunks()


async def delete(store: ObjectStore, key: str) -> None:
    """Remove the file; one that is not there is fine (deleting is how failures clean up)."""
    with contextlib.suppress(FileNotFoundError):
        await obstore.delete_async(store, key)


async def discard_partial(store: ObjectStore, key: str) -> None:
    """Delete what a writer killed midway left under `key`: the object, and on the filesystem
    the staging files (`<key>#<n>`) that obstore writes before it renames them into place and
    that listings do not show. (On S3 the parts of an unfinished multipart upload are left to
    the bucket's lifecycle rule, deploy/README.md.)"""
    await delete(store, key)
    if isinstance(store, LocalStore) and store.prefix is not None:
        target = Path(store.prefix) / key
        for staged in target.parent.glob(f"{target.name}#*"):
            staged.unlink(missing_ok=True)


async def reachable(store: ObjectStore, *, timeout_s: float = 2.0) -> bool:
    """Whether the store answers a listing of at most one key in time."""

    async def first() -> None:
        async for _ in obstore.list(store, chunk_size=1):
            break

    try:
        await asyncio.wait_for(first(), timeout_s)
    except (obstore.exceptions.BaseError, OSError, TimeoutError):
        return False
    return True
