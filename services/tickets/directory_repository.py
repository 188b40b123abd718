"""The SQL of the tickets service's directory of organizations and users (tables
`directory_organizations`, `directory_users`), kept from `accounts.events`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import asyncpg

from services.runtime.db import Connection, from_row
from services.tickets.directory import DirectoryUser


def _directory_user(row: asyncpg.Record) -> DirectoryUser:
    return from_row(DirectoryUser, row, roles=frozenset(row["roles"]))


async def upsert_organization(conn: Connection, *, org_id: uuid.UUID, name: str, kind: str) -> None:
    """Remember an organization."""
    await conn.execute(
        """INSERT INTO directory_organizations (id, name, kind) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind""",
        org_id,
        name,
        kind,
    )


async def insert_directory_user(conn: Connection, *, user: DirectoryUser, version: int) -> None:
    """Remember a new user (a repeated UserCreated changes nothing)."""
    await conn.execute(
        """INSERT INTO directory_users (id, org_id, email, display_name, language, roles, active,
                                        version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING""",
        user.id,
        user.org_id,
        user.email.lower(),
        user.display_name,
        user.language,
        sorted(user.roles),
        user.active,
        version,
    )


async def update_directory_user(
    conn: Connection, *, user_id: uuid.UUID, version: int, changes: dict[str, Any]
) -> bool:
    """Apply a change (language, active, roles) unless a newer one is recorded; False if not
    applied. One change of a user can publish several events with the same version (new roles
    and a new language at once): each applies, as each sets its own column."""
    allowed = {"language", "active", "roles"}
    assert set(changes) <= allowed, changes
    assignments = ", ".join(f"{column} = ${i}" for i, column in enumerate(changes, start=3))
    applied = await conn.fetchval(
        f"""UPDATE directory_users SET {assignments}, version = $2
             WHERE id = $1 AND version <= $2 RETURNING true""",
        user_id,
        version,
        *changes.values(),
    )
    return bool(applied)


async def find_directory_user(
    conn: Connection, *, email: str | None = None, user_id: uuid.UUID | None = None
) -> DirectoryUser | None:
    """A known user by e-mail (case-insensitive) or id."""
    row = await conn.fetchrow(
        """SELECT * FROM directory_users
            WHERE ($1::text IS NULL OR email = lower($1)) AND ($2::uuid IS NULL OR id = $2)""",
        email,
        user_id,
    )
    return _directory_user(row) if row else None


async def find_directory_users(
    conn: Connection, *, emails: Sequence[str]
) -> dict[str, DirectoryUser]:
    """Known users by lower-cased e-mail."""
    rows = await conn.fetch(
        "SELECT * FROM directory_users WHERE email = ANY($1::text[])",
        [e.lower() for e in emails],
    )
    return {r["email"]: _directory_user(r) for r in rows}
