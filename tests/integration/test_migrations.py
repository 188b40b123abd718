"""Migrations are forward-only plain SQL; replaying them changes nothing."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from services.runtime.db import RUNTIME_MIGRATIONS, migrate

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
EXPECTED_TABLES = {
    "auth": {"organizations", "users"},
    "tickets": {
        "tickets",
        "ticket_transitions",
        "ticket_messages",
        "archived_tickets",
        "directory_organizations",
        "directory_users",
        "attachments",
    },
    "billing": {
        "decisions",
        "tickets",
        "resolutions",
        "standing_history",
        "onboarding_records",
        "arrangements",
        "statements_issued",
    },
    "notify": {"emails", "recipients"},
    "content": {
        "licence_changes",
        "training_order_changes",
        "releases",
        "recordings",
        "files",
        "downloads",
        "known_tickets",
        "attachments",
    },
}


async def _schema(pool: asyncpg.Pool) -> list[tuple[str, str, str]]:
    rows = await pool.fetch(
        """SELECT table_name, column_name, data_type FROM information_schema.columns
            WHERE table_schema = 'public' ORDER BY 1, 2"""
    )
    return [(r[0], r[1], r[2]) for r in rows]


@pytest.mark.parametrize("service", sorted(EXPECTED_TABLES))
async def test_migrations_build_the_schema_and_replaying_them_changes_nothing(
    scratch_pool: asyncpg.Pool, service: str
) -> None:
    sets = {"runtime": RUNTIME_MIGRATIONS, service: SERVICES_DIR / service / "migrations"}

    applied = await migrate(scratch_pool, sets)
    schema = await _schema(scratch_pool)
    again = await migrate(scratch_pool, sets)

    assert applied and again == []
    assert await _schema(scratch_pool) == schema
    tables = {table for table, _, _ in schema}
    runtime = {"outbox", "inbox", "parked", "revoked_users", "ended_sessions", "schema_migrations"}
    assert EXPECTED_TABLES[service] | runtime <= tables


async def test_an_applied_migration_that_changed_is_refused(
    scratch_pool: asyncpg.Pool, tmp_path: Path
) -> None:
    (tmp_path / "001_things.sql").write_text("CREATE TABLE things (id int);")
    await migrate(scratch_pool, {"demo": tmp_path})
    (tmp_path / "001_things.sql").write_text("CREATE TABLE things (id bigint);")

    with pytest.raises(RuntimeError, match="changed after it was applied"):
        await migrate(scratch_pool, {"demo": tmp_path})
