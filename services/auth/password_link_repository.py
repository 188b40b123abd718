"""The SQL of password links (reset and first-login invitation; table `password_tokens`) and of
the audit of reset requests (`password_reset_requests`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from services.auth.domain import normalize_email
from services.runtime.db import Connection


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
