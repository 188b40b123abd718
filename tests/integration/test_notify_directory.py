"""notify's directory of recipients (services/notify/repository.py) follows a user's changes."""

from __future__ import annotations

import uuid

import asyncpg

from services.notify import repository
from tests.support import migrated


async def test_events_of_one_change_share_a_version_and_each_applies(
    scratch_pool: asyncpg.Pool,
) -> None:
    await migrated(scratch_pool, "notify")
    user = uuid.uuid4()
    async with scratch_pool.acquire() as conn:
        await repository.remember_recipient(
            conn, user_id=user, org_id=uuid.uuid4(), email="a@x.example", language="sl", version=1
        )
        assert await repository.update_recipient(conn, user_id=user, version=2, active=False)
        # One admin change: reactivated and a new language, two events of version 3.
        assert await repository.update_recipient(conn, user_id=user, version=3, active=True)
        assert await repository.update_recipient(conn, user_id=user, version=3, language="en")
        # An older change arriving late is not applied.
        assert not await repository.update_recipient(conn, user_id=user, version=2, active=False)
        row = await conn.fetchrow(
            "SELECT language, active FROM recipients WHERE user_id = $1", user
        )
    assert (row["language"], row["active"]) == ("en", True)
