"""The SQL of sessions and their rotating refresh tokens (tables `sessions`, `refresh_tokens`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg

from services.runtime.db import Connection, from_row


@dataclass(frozen=True)
class Session:
    id: uuid.UUID
    user_id: uuid.UUID
    persistent: bool
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


def _session(row: asyncpg.Record) -> Session:
    return from_row(Session, row)


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
    return bool(await _revoke(conn, "id", session_id, reason=reason, now=now))


async def revoke_user_sessions(
    conn: Connection, *, user_id: uuid.UUID, reason: str, now: datetime
) -> int:
    """End every open session of the user (and so all their refresh tokens); return how many."""
    return await _revoke(conn, "user_id", user_id, reason=reason, now=now)


async def _revoke(
    conn: Connection,
    column: Literal["id", "user_id"],
    value: uuid.UUID,
    *,
    reason: str,
    now: datetime,
) -> int:
    """End the open sessions whose `column` is `value`; return how many."""
    status = await conn.execute(
        f"UPDATE sessions SET revoked_at = $3, revoke_reason = $2"
        f" WHERE {column} = $1 AND revoked_at IS NULL",
        value,
        reason,
        now,
    )
    return int(status.split()[-1])
