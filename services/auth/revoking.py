"""Ending access before the access tokens expire: one session, or every token of a user.

Both run in the caller's transaction. They write auth's own revocation list (auth's routes check
it like every service's, services/runtime/revocation.py) and put the event that tells the other
services in the outbox: `SessionEnded` (a sign-out, a rotated refresh token presented again)
or `UserTokensRevoked` (a completed reset, a deactivation, new roles).

The moment of a user's revocation is read while the caller holds the user's row FOR UPDATE,
after the change. auth signs a token only from a reading of the row held FOR SHARE, and takes
the token's `iat` while holding it (`Accounts`): so a token signed from the user as they were
before the change has an `iat` before the moment, and one signed from the changed user an `iat`
after it. `iat` carries microseconds: a sign-in in the same second as a reset is not refused.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from contracts.accounts import SessionEnded, UserTokensRevoked
from contracts.common import EventModel
from services.auth import session_repository
from services.auth.domain import User
from services.runtime import revocation
from services.runtime.clock import Clock
from services.runtime.db import Connection
from services.runtime.outbox import emit


async def end_session(
    conn: Connection,
    *,
    session_id: uuid.UUID,
    user: User,
    reason: str,
    clock: Clock,
    token_ttl: timedelta,
) -> bool:
    """End the session and refuse every access token carrying it; False (and nothing
    published) if it had ended already."""
    now = clock.now()
    if not await session_repository.revoke_session(
        conn, session_id=session_id, reason=reason, now=now
    ):
        return False
    expire_by = now + token_ttl
    await revocation.record_session_end(
        conn, session_id=session_id, user_id=user.id, tokens_expire_by=expire_by
    )
    await _announce(
        conn,
        user,
        SessionEnded(
            session_id=session_id,
            user_id=user.id,
            org_id=user.org_id,
            ended_at=now,
            tokens_expire_by=expire_by,
            reason=reason,
        ),
        now=now,
    )
    return True


async def revoke_user_tokens(
    conn: Connection, *, user: User, reason: str, clock: Clock, token_ttl: timedelta
) -> None:
    """Refuse every access token of the user signed until now. The caller holds the user's
    row FOR UPDATE and has made its change (see the module)."""
    now = clock.now()
    expire_by = now + token_ttl
    await revocation.record_user_revocation(
        conn, user_id=user.id, revoked_before=now, tokens_expire_by=expire_by
    )
    await _announce(
        conn,
        user,
        UserTokensRevoked(
            user_id=user.id,
            org_id=user.org_id,
            revoked_before=now,
            tokens_expire_by=expire_by,
            reason=reason,
        ),
        now=now,
    )


async def _announce(conn: Connection, user: User, event: EventModel, *, now: datetime) -> None:
    """Put the event about the user's access in the outbox, keyed by the user."""
    await emit(
        conn,
        event,
        source="auth",
        aggregate_id=user.id,
        aggregate_version=user.version,
        org_id=user.org_id,
        occurred_at=now,
    )
