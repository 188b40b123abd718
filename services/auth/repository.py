"""All SQL of the auth service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.auth.domain import Organization, User, normalize_email
from services.auth.throttle import ThrottleState
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
        has_password=row["password_hash"] is not None,
        version=row["version"],
    )


def _organization(row: asyncpg.Record) -> Organization:
    return Organization(id=row["id"], name=row["name"], kind=row["kind"])


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


async def rename_organization(conn: Connection, *, org_id: uuid.UUID, name: str) -> bool:
    status = await conn.execute(
        "UPDATE organizations SET name = $2, updated_at = now() WHERE id = $1", org_id, name
    )
    return status == "UPDATE 1"


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


# --- sessions and refresh tokens ---------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    id: uuid.UUID
    user_id: uuid.UUID
    persistent: bool
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


def _session(row: asyncpg.Record) -> Session:
    return Session(
        row["id"],
        row["user_id"],
        row["persistent"],
        row["created_at"],
        row["expires_at"],
        row["revoked_at"],
    )


async def create_session(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    persistent: bool,
    now: datetime,
    expires_at: datetime,
    client_ip: str | None,
    user_agent: str | None,
) -> Session:
    row = await conn.fetchrow(
        """INSERT INTO sessions (id, user_id, persistent, created_at, expires_at, client_ip,
                                 user_agent)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
        uuid.uuid4(),
        user_id,
        persistent,
        now,
        expires_at,
        client_ip,
        (user_agent or "")[:300] or None,
    )
    assert row is not None
    return _session(row)


async def add_refresh_token(
    conn: Connection, *, session_id: uuid.UUID, token_hash: bytes, expires_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)",
        token_hash,
        session_id,
        expires_at,
    )


@dataclass(frozen=True)
class RefreshToken:
    session: Session
    expires_at: datetime
    rotated_at: datetime | None


async def refresh_token_owner(conn: Connection, *, token_hash: bytes) -> uuid.UUID | None:
    """The user whose session the refresh token belongs to (nothing locked)."""
    owner: uuid.UUID | None = await conn.fetchval(
        """SELECT s.user_id FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
            WHERE r.token_hash = $1""",
        token_hash,
    )
    return owner


async def lock_refresh_token(conn: Connection, *, token_hash: bytes) -> RefreshToken | None:
    """The refresh token and its session, both locked until the transaction ends."""
    row = await conn.fetchrow(
        """SELECT s.*, r.expires_at AS token_expires_at, r.rotated_at
             FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
            WHERE r.token_hash = $1 FOR UPDATE""",
        token_hash,
    )
    if row is None:
        return None
    return RefreshToken(_session(row), row["token_expires_at"], row["rotated_at"])


async def mark_rotated(conn: Connection, *, token_hash: bytes, now: datetime) -> None:
    await conn.execute(
        "UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1", token_hash, now
    )


async def extend_session(
    conn: Connection, *, session_id: uuid.UUID, now: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        "UPDATE sessions SET last_refreshed_at = $2, expires_at = $3 WHERE id = $1",
        session_id,
        now,
        expires_at,
    )


async def revoke_session(
    conn: Connection, *, session_id: uuid.UUID, reason: str, now: datetime
) -> bool:
    """End the session (and so its refresh tokens); False if it had ended already."""
    status = await conn.execute(
        "UPDATE sessions SET revoked_at = $3, revoke_reason = $2"
        " WHERE id = $1 AND revoked_at IS NULL",
        session_id,
        reason,
        now,
    )
    return status.split()[-1] != "0"


async def revoke_user_sessions(
    conn: Connection, *, user_id: uuid.UUID, reason: str, now: datetime
) -> int:
    """End every open session of the user (and so all their refresh tokens); return how many."""
    status = await conn.execute(
        "UPDATE sessions SET revoked_at = $3, revoke_reason = $2"
        " WHERE user_id = $1 AND revoked_at IS NULL",
        user_id,
        reason,
        now,
    )
    return int(status.split()[-1])


# --- password links ----------------------------------------------------------------------------


async def add_password_token(
    conn: Connection,
    *,
    token_hash: bytes,
    user_id: uuid.UUID,
    purpose: str,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO password_tokens (token_hash, user_id, purpose, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        token_hash,
        user_id,
        purpose,
        created_at,
        expires_at,
    )


async def count_password_links(conn: Connection, *, user_id: uuid.UUID, since: datetime) -> int:
    """Links made for the user after `since`. The user's row is locked first, so concurrent
    requests for one address count one after another and none slips past the cap."""
    await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE", user_id)
    count = await conn.fetchval(
        "SELECT count(*) FROM password_tokens WHERE user_id = $1 AND created_at > $2",
        user_id,
        since,
    )
    return int(count)


@dataclass(frozen=True)
class PasswordToken:
    user_id: uuid.UUID
    purpose: str
    expires_at: datetime
    used_at: datetime | None


async def lock_password_token(conn: Connection, *, token_hash: bytes) -> PasswordToken | None:
    row = await conn.fetchrow(
        "SELECT * FROM password_tokens WHERE token_hash = $1 FOR UPDATE", token_hash
    )
    if row is None:
        return None
    return PasswordToken(row["user_id"], row["purpose"], row["expires_at"], row["used_at"])


async def use_password_tokens(conn: Connection, *, user_id: uuid.UUID, now: datetime) -> None:
    """Spend every open password link of the user: the one used and any older ones."""
    await conn.execute(
        "UPDATE password_tokens SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL",
        user_id,
        now,
    )


async def record_reset_request(
    conn: Connection,
    *,
    email: str,
    user_id: uuid.UUID | None,
    client_ip: str | None,
    link_sent: bool,
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO password_reset_requests"
        " (email, matched_user, client_ip, link_sent, requested_at) VALUES ($1, $2, $3, $4, $5)",
        normalize_email(email)[:254],
        user_id,
        client_ip,
        link_sent,
        at,
    )


# --- throttling --------------------------------------------------------------------------------


async def throttle_states(conn: Connection, *, keys: list[str]) -> dict[str, ThrottleState]:
    rows = await conn.fetch("SELECT * FROM login_throttle WHERE key = ANY($1::text[])", keys)
    return {
        r["key"]: ThrottleState(r["failures"], r["last_failure_at"], r["locked_until"])
        for r in rows
    }


async def lock_throttle_state(conn: Connection, *, key: str) -> ThrottleState | None:
    row = await conn.fetchrow("SELECT * FROM login_throttle WHERE key = $1 FOR UPDATE", key)
    return (
        ThrottleState(row["failures"], row["last_failure_at"], row["locked_until"]) if row else None
    )


async def save_throttle_state(conn: Connection, *, key: str, state: ThrottleState) -> None:
    await conn.execute(
        """INSERT INTO login_throttle (key, failures, last_failure_at, locked_until)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (key) DO UPDATE
               SET failures = $2, last_failure_at = $3, locked_until = $4""",
        key,
        state.failures,
        state.last_failure_at,
        state.locked_until,
    )


async def clear_throttle(conn: Connection, *, key: str) -> None:
    await conn.execute("DELETE FROM login_throttle WHERE key = $1", key)
