"""The SQL of organizations and users; sessions, password links and the throttle have their own
modules (session_repository, password_link_repository, throttle_repository)."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from services.auth.domain import Organization, User, normalize_email
from services.runtime.db import Connection, from_row


def _user(row: asyncpg.Record) -> User:
    return from_row(
        User, row, roles=frozenset(row["roles"]), has_password=row["password_hash"] is not None
    )


def _organization(row: asyncpg.Record) -> Organization:
    return from_row(Organization, row)


# --- organizations -----------------------------------------------------------------------------


async def insert_organization(conn: Connection, *, org: Organization) -> bool:
    """Create the organization; False if one with this id or name exists."""
    inserted = await conn.fetchval(
        "INSERT INTO organizations (id, name, kind) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING RETURNING true",
        org.id,
        org.name,
        org.kind,
    )
    return bool(inserted)


async def get_organization(conn: Connection, *, org_id: uuid.UUID) -> Organization | None:
    row = await conn.fetchrow("SELECT * FROM organizations WHERE id = $1", org_id)
    return _organization(row) if row else None


async def find_organization_by_name(conn: Connection, *, name: str) -> Organization | None:
    row = await conn.fetchrow("SELECT * FROM organizations WHERE lower(name) = lower($1)", name)
    return _organization(row) if row else None


async def list_organizations(
    conn: Connection, *, limit: int, after: tuple[str, uuid.UUID] | None, with_total: bool
) -> tuple[list[Organization], int | None]:
    """Up to `limit + 1` organizations by name after the sort key `after` (keyset); with the
    count of them all if asked."""
    rows = await conn.fetch(
        """SELECT * FROM organizations
            WHERE $1::text IS NULL OR (lower(name), id) > ($1, $2::uuid)
            ORDER BY lower(name), id LIMIT $3""",
        *(after or (None, None)),
        limit + 1,
    )
    total = await conn.fetchval("SELECT count(*) FROM organizations") if with_total else None
    return [_organization(r) for r in rows], None if total is None else int(total)


# --- users -------------------------------------------------------------------------------------


async def find_user_by_email(conn: Connection, *, email: str) -> User | None:
    """Fetch a user by e-mail (case-insensitive), or None."""
    row = await conn.fetchrow("SELECT * FROM users WHERE email = $1", normalize_email(email))
    return _user(row) if row else None


async def credentials_of(conn: Connection, *, email: str) -> tuple[User, str | None] | None:
    """The user with this e-mail and their password hash (None: no usable password)."""
    row = await conn.fetchrow("SELECT * FROM users WHERE email = $1", normalize_email(email))
    return (_user(row), row["password_hash"]) if row else None


async def get_user(
    conn: Connection, *, user_id: uuid.UUID, org_id: uuid.UUID | None = None, lock: bool = False
) -> User | None:
    """One user; with `org_id`, only if they belong to that organization."""
    row = await conn.fetchrow(
        "SELECT * FROM users WHERE id = $1 AND ($2::uuid IS NULL OR org_id = $2)"
        + (" FOR UPDATE" if lock else ""),
        user_id,
        org_id,
    )
    return _user(row) if row else None


async def lock_credentials(
    conn: Connection, *, user_id: uuid.UUID
) -> tuple[User, str | None] | None:
    """The user and their password hash, held FOR SHARE until the transaction ends: a change
    that locks the row FOR UPDATE (roles, deactivation, a reset) waits until a token's issue
    time has been read with this reading, or this reading waits for the change
    (services/auth/revoking.py)."""
    row = await conn.fetchrow("SELECT * FROM users WHERE id = $1 FOR SHARE", user_id)
    return (_user(row), row["password_hash"]) if row else None


async def list_users(
    conn: Connection,
    *,
    org_id: uuid.UUID | None,
    limit: int,
    after: str | None,
    with_total: bool,
) -> tuple[list[User], int | None]:
    """Up to `limit + 1` users by e-mail (unique) after `after` (keyset); with the count of
    them all if asked."""
    rows = await conn.fetch(
        """SELECT * FROM users
            WHERE ($1::uuid IS NULL OR org_id = $1) AND ($2::text IS NULL OR email > $2)
            ORDER BY email LIMIT $3""",
        org_id,
        after,
        limit + 1,
    )
    total = (
        await conn.fetchval(
            "SELECT count(*) FROM users WHERE ($1::uuid IS NULL OR org_id = $1)", org_id
        )
        if with_total
        else None
    )
    return [_user(r) for r in rows], None if total is None else int(total)


async def insert_user(conn: Connection, *, user: User, password_hash: str | None = None) -> bool:
    """Create the user; False if the e-mail is taken."""
    inserted = await conn.fetchval(
        """INSERT INTO users (id, org_id, email, display_name, language, roles, active,
                              password_hash, password_changed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8,
                   CASE WHEN $8::text IS NULL THEN NULL ELSE now() END)
           ON CONFLICT (email) DO NOTHING RETURNING true""",
        user.id,
        user.org_id,
        normalize_email(user.email),
        user.display_name,
        user.language,
        sorted(user.roles),
        user.active,
        password_hash,
    )
    return bool(inserted)


async def update_user(conn: Connection, *, user_id: uuid.UUID, changes: dict[str, Any]) -> User:
    """Apply column changes (display_name, language, roles, active) and bump the version."""
    allowed = {"display_name", "language", "roles", "active"}
    assert changes and set(changes) <= allowed, changes
    columns = list(changes)
    assignments = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(columns))
    row = await conn.fetchrow(
        f"UPDATE users SET {assignments}, version = version + 1, updated_at = now()"
        " WHERE id = $1 RETURNING *",
        user_id,
        *(sorted(changes[c]) if c == "roles" else changes[c] for c in columns),
    )
    assert row is not None
    return _user(row)


async def set_password_hash(conn: Connection, *, user_id: uuid.UUID, password_hash: str) -> int:
    """Store a new password hash; return the user's new version."""
    version: int = await conn.fetchval(
        """UPDATE users SET password_hash = $2, password_changed_at = now(),
                  version = version + 1, updated_at = now()
            WHERE id = $1 RETURNING version""",
        user_id,
        password_hash,
    )
    return version


async def rehash_password(
    conn: Connection, *, user_id: uuid.UUID, old_hash: str, new_hash: str
) -> None:
    """Replace the hash with one of today's parameters, unless the password changed meanwhile."""
    await conn.execute(
        "UPDATE users SET password_hash = $3 WHERE id = $1 AND password_hash = $2",
        user_id,
        old_hash,
        new_hash,
    )
