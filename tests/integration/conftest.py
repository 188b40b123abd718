from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from devstack.infra import Endpoints


@pytest.fixture
async def scratch_dsn(endpoints: Endpoints) -> AsyncIterator[str]:
    """A fresh, empty database on the test PostgreSQL server, dropped afterwards."""
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(endpoints.postgres_admin_dsn)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(urlsplit(endpoints.postgres_admin_dsn)._replace(path=f"/{name}"))
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


@pytest.fixture
async def scratch_pool(scratch_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(scratch_dsn, min_size=1, max_size=4)
    try:
        yield pool
    finally:
        await pool.close()
