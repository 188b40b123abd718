"""All SQL of the auth service."""

from __future__ import annotations

import asyncpg

from services.auth.domain import Organization, User, normalize_email
from services.runtime.db import Connection


def _user(row: asyncpg.Record) -> User:
    return User(
        id=row["id"],
        org_id=row["org_id"],
        email=row["email"],
        display_name=row["display_name"],
        language=row["language"],
        roles=frozenset(row["roles"]),
        active=row["active"],
    )


async def find_user_by_email(conn: Connection, *, email: str) -> User | None:
    """Fetch a user by e-mail (case-insensitive), or None."""
    row = await conn.fetchrow("SELECT * FROM users WHERE email = $1", normalize_email(email))
    return _user(row) if row else None


async def ensure_organization(conn: Connection, *, org: Organization) -> None:
    """Create the organization unless it exists."""
    await conn.execute(
        "INSERT INTO organizations (id, name, kind) VALUES ($1, $2, $3)"
        " ON CONFLICT (id) DO NOTHING",
        org.id,
        org.name,
        org.kind,
    )


async def ensure_user(conn: Connection, *, user: User) -> None:
    """Create the user unless one with that e-mail exists."""
    await conn.execute(
        """INSERT INTO users (id, org_id, email, display_name, language, roles, active)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (email) DO NOTHING""",
        user.id,
        user.org_id,
        normalize_email(user.email),
        user.display_name,
        user.language,
        sorted(user.roles),
        user.active,
    )
