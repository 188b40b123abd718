"""The content service's files in both storage backends, over real connections: a directory on
this machine (the embedded default) and S3, spoken to moto's S3-compatible server on 127.0.0.1.

What moto does not cover: it accepts any credentials and signature, keeps objects in memory, and
does not apply bucket policies, encryption or lifecycle rules (the operations guide's
abort-incomplete-uploads rule among them); those are S3's own and are not tested here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import obstore
import pytest
from obstore.store import ObjectStore

from devstack.infra import free_port
from services.content import file_repository, repository, storage, uploads
from services.content.filetypes import SNIFF_BYTES, UnsupportedTypeError, type_for
from services.content.intake import TooLargeError
from services.content.ranges import ByteRange
from services.content.settings import ContentSettings
from services.runtime.clock import SystemClock
from tests.support import migrated

BUCKET = "ticketing-content-test"
ADMIN = uuid.UUID("00000000-0000-4000-8000-0000000000ad")
CLOCK = SystemClock()
PDF = b"%PDF-1.7\n" + os.urandom(3 * 1024 * 1024)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server on a free port, with the bucket made."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    ).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


@pytest.fixture(params=["filesystem", "s3"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> ContentSettings:
    common = {"database_url": "postgresql://unused@127.0.0.1/unused", "upload_part_bytes": 5 << 20}
    if request.param == "filesystem":
        return ContentSettings(storage_path=tmp_path / "files", **common)
    return ContentSettings(
        storage_backend="s3",
        s3_bucket=BUCKET,
        s3_endpoint=request.getfixturevalue("s3_endpoint"),
        s3_region="us-east-1",
        s3_access_key_id="test",
        s3_secret_access_key="test",
        s3_allow_http=True,
        **common,
    )


@pytest.fixture
def store(settings: ContentSettings) -> ObjectStore:
    return storage.open_store(settings)


@pytest.fixture
async def pool(scratch_pool: asyncpg.Pool) -> asyncpg.Pool:
    return await migrated(scratch_pool, "content")


async def _draft(pool: asyncpg.Pool) -> uuid.UUID:
    async with pool.acquire() as conn:
        release = await repository.create_release(
            conn,
            program="Plače",
            version=f"2026.{uuid.uuid4().hex[:6]}",
            released_on=datetime(2026, 12, 1, tzinfo=UTC).date(),
            notes_sl="Popravki.",
            notes_en="Fixes.",
            by=ADMIN,
            at=CLOCK.now(),
        )
    return release.id


def _upload(release_id: uuid.UUID, name: str = "notes.pdf", **fields: object) -> uploads.Upload:
    values: dict[str, object] = {
        "owner": ("release", release_id),
        "name": name,
        "file_type": type_for("release", name),
        "max_bytes": 64 << 20,
        "expected_sha256": None,
        "by": ADMIN,
        **fields,
    }
    return uploads.Upload(**values)  # type: ignore[arg-type]


async def _body(data: bytes, *, chunk: int = 256 * 1024, fail_after: int | None = None):  # type: ignore[no-untyped-def]
    for sent, start in enumerate(range(0, len(data), chunk)):
        if fail_after is not None and sent == fail_after:
            raise ConnectionResetError("the client went away")
        yield data[start : start + chunk]


async def _keys(store: ObjectStore) -> list[str]:
    return [item["path"] for batch in obstore.list(store) for item in batch]


async def _rows(pool: asyncpg.Pool, release_id: uuid.UUID) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch("SELECT * FROM files WHERE release_id = $1", release_id)


async def _read(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in stream])


async def test_a_file_streams_in_and_out_whole_and_by_range(
    pool: asyncpg.Pool, store: ObjectStore
) -> None:
    release_id = await _draft(pool)
    stored = await uploads.receive(
        pool, store, _upload(release_id), _body(PDF), clock=CLOCK, part_bytes=5 << 20
    )

    assert (stored.status, stored.size) == ("stored", len(PDF))
    assert stored.sha256 == hashlib.sha256(PDF).hexdigest()
    assert stored.storage_key == f"releases/{release_id}/{stored.id}"
    assert await _read(await storage.open_read(store, stored.storage_key, None)) == PDF
    part = ByteRange(1_000_000, 1_000_099)
    assert (
        await _read(await storage.open_read(store, stored.storage_key, part))
        == PDF[1_000_000:1_000_100]
    )


@pytest.mark.parametrize(
    ("body", "fields", "error"),
    [
        ("interrupted", {}, ConnectionResetError),
        ("png-named-pdf", {}, UnsupportedTypeError),
        ("whole", {"max_bytes": 1 << 20}, TooLargeError),
        ("whole", {"expected_sha256": "0" * 64}, uploads.ChecksumMismatchError),
    ],
)
async def test_an_upload_that_stops_midway_leaves_no_bytes_and_no_row(
    pool: asyncpg.Pool,
    store: ObjectStore,
    body: str,
    fields: dict[str, object],
    error: type[Exception],
) -> None:
    release_id = await _draft(pool)
    data = b"\x89PNG\r\n\x1a\n" + b"\x00" * SNIFF_BYTES if body == "png-named-pdf" else PDF
    stream = _body(data, fail_after=7 if body == "interrupted" else None)
    with pytest.raises(error):
        await uploads.receive(
            pool,
            store,
            _upload(release_id, **fields),
            stream,
            clock=CLOCK,
            part_bytes=5 << 20,
        )

    assert await _rows(pool, release_id) == []
    assert [k for k in await _keys(store) if str(release_id) in k] == []


async def test_the_sweep_clears_an_upload_its_process_left_behind(
    pool: asyncpg.Pool, store: ObjectStore, settings: ContentSettings
) -> None:
    release_id = await _draft(pool)
    async with pool.acquire() as conn:
        begun = await file_repository.begin_file(
            conn,
            owner=("release", release_id),
            name="setup.zip",
            media_type="application/zip",
            by=ADMIN,
            at=CLOCK.now() - timedelta(hours=7),
        )
    await obstore.put_async(store, begun.storage_key, b"PK\x03\x04 half an upload")
    if settings.storage_backend == "filesystem":  # what obstore stages before it renames
        staged = settings.storage_path / f"{begun.storage_key}#1"
        staged.write_bytes(b"PK\x03\x04 the part of a killed writer")

    cleared = await uploads.sweep_stale_uploads(
        pool, store, clock=CLOCK, stale_after_s=6 * 3600, batch=10
    )

    assert cleared >= 1
    assert await _rows(pool, release_id) == []
    assert [k for k in await _keys(store) if str(release_id) in k] == []
    if settings.storage_backend == "filesystem":
        assert list(settings.storage_path.rglob("*#*")) == []


async def test_a_release_is_not_published_while_a_file_is_arriving(
    pool: asyncpg.Pool, store: ObjectStore
) -> None:
    release_id = await _draft(pool)
    async with pool.acquire() as conn:
        await file_repository.begin_file(
            conn,
            owner=("release", release_id),
            name="setup.zip",
            media_type="application/zip",
            by=ADMIN,
            at=CLOCK.now(),
        )
        with pytest.raises(repository.ConflictError, match="still being uploaded"):
            async with conn.transaction():
                await repository.publish(
                    conn, repository.RELEASES, release_id, by=ADMIN, at=CLOCK.now()
                )


async def test_the_store_answers_the_readiness_check(store: ObjectStore) -> None:
    assert await storage.reachable(store)


async def test_an_s3_server_that_does_not_answer_is_reported_unreachable() -> None:
    gone = ContentSettings(
        database_url="postgresql://unused@127.0.0.1/unused",
        storage_backend="s3",
        s3_bucket=BUCKET,
        s3_endpoint=f"http://127.0.0.1:{free_port()}",
        s3_region="us-east-1",
        s3_access_key_id="test",
        s3_secret_access_key="test",
        s3_allow_http=True,
    )
    assert not await storage.reachable(storage.open_store(gone), timeout_s=3)
