"""Access tokens refused before they expire: each service's revocation list.

auth ends access in two ways (contracts/accounts.py): `UserTokensRevoked` (every token of a user
issued at or before a moment: a completed password reset, a deactivation, new roles) and
`SessionEnded` (every token of one session: a sign-out, a refresh token presented twice). A
service keeps them in two tables of its own database (runtime migration 004), written by
handlers in its consumer group (`follow_revocations`), or, in auth, in the transaction that
ended the access. Every replica reads the tables into memory every `REVOCATIONS_REFRESH_S`
(`RevocationRefresher`): a replica's consumer applies only its own partitions, but all replicas
share the tables. `TokenVerifier` checks every use of a token, remembered or not, against that
reading, without a query. A row is forgotten once every token it concerns has expired.
docs/decisions.md, "Sessions end when they should".
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg
import structlog

from contracts.accounts import SessionEnded, UserTokensRevoked
from contracts.topics import ACCOUNTS_EVENTS
from services.runtime.clock import Clock
from services.runtime.consumer import EventConsumer, HandlerContext
from services.runtime.db import Connection

log = structlog.get_logger(__name__)

FORGET_MARGIN = timedelta(minutes=1)
"""A row is kept this long after its tokens' expiry: more than the verifier's leeway (30 s), with
which an expired token is still taken."""

FORGET_EVERY_S = 60.0


@dataclass(frozen=True)
class Revocations:
    """One reading of the revocation list; the rule is pure."""

    users: Mapping[uuid.UUID, float] = field(default_factory=dict)
    """User id -> the moment (Unix seconds) at or before which their tokens were issued in vain."""
    sessions: frozenset[uuid.UUID] = frozenset()
    """Sessions that ended: every token carrying one of them is refused."""

    def refusal(
        self, *, user_id: uuid.UUID, session_id: uuid.UUID | None, issued_at: float
    ) -> str | None:
        """Why a token of this user and session, issued at `issued_at` (Unix seconds, the `iat`
        claim), must be refused; None when nothing revoked it."""
        if session_id is not None and session_id in self.sessions:
            return "its session has ended"
        revoked_before = self.users.get(user_id)
        if revoked_before is not None and issued_at <= revoked_before:
            return "the user's tokens were revoked after it was issued"
        return None


class RevocationsOutdatedError(RuntimeError):
    """The revocation list has not been read for longer than allowed: a revoked token could
    pass, so no token is taken until it has been read again (answered 503)."""


class RevocationList:
    """The reading the verifier checks, replaced whole by each reload.

    With `stale_after_s`, a reading older than that (or none yet) is refused with
    `RevocationsOutdatedError`; without it (a verifier built for a test), the list is simply
    what was last put in."""

    def __init__(self, *, stale_after_s: float | None = None) -> None:
        self._current = Revocations()
        self._stale_after_s = stale_after_s
        self._read_at: float | None = None

    def replace(self, revocations: Revocations) -> None:
        """Take a new reading (monotonic time: the age of a reading is not business time)."""
        self._current = revocations
        self._read_at = time.monotonic()

    def current(self) -> Revocations:
        """The latest reading; raise `RevocationsOutdatedError` when it is too old."""
        if self._stale_after_s is not None and (
            self._read_at is None or time.monotonic() - self._read_at > self._stale_after_s
        ):
            raise RevocationsOutdatedError(
                "the revocation list has not been read for "
                + ("ever" if self._read_at is None else f"{time.monotonic() - self._read_at:.0f} s")
            )
        return self._current


# --- the tables --------------------------------------------------------------------------------


async def record_user_revocation(
    conn: Connection, *, user_id: uuid.UUID, revoked_before: datetime, tokens_expire_by: datetime
) -> None:
    """Refuse the user's tokens issued at or before `revoked_before`. The latest moment
    recorded wins, so applying revocations again or out of order changes nothing."""
    await conn.execute(
        """INSERT INTO revoked_users (user_id, revoked_before, forget_after) VALUES ($1, $2, $3)
           ON CONFLICT (user_id) DO UPDATE
              SET revoked_before = GREATEST(revoked_users.revoked_before, EXCLUDED.revoked_before),
                  forget_after = GREATEST(revoked_users.forget_after, EXCLUDED.forget_after)""",
        user_id,
        revoked_before,
        tokens_expire_by + FORGET_MARGIN,
    )


async def record_session_end(
    conn: Connection, *, session_id: uuid.UUID, user_id: uuid.UUID, tokens_expire_by: datetime
) -> None:
    """Refuse every token of this session (recording it again changes nothing)."""
    await conn.execute(
        """INSERT INTO ended_sessions (session_id, user_id, forget_after) VALUES ($1, $2, $3)
           ON CONFLICT (session_id) DO UPDATE
              SET forget_after = GREATEST(ended_sessions.forget_after, EXCLUDED.forget_after)""",
        session_id,
        user_id,
        tokens_expire_by + FORGET_MARGIN,
    )


async def read_revocations(conn: Connection, *, now: datetime) -> Revocations:
    """The revocations whose tokens may still be in force at `now`."""
    users = await conn.fetch(
        "SELECT user_id, revoked_before FROM revoked_users WHERE forget_after > $1", now
    )
    sessions = await conn.fetch(
        "SELECT session_id FROM ended_sessions WHERE forget_after > $1", now
    )
    return Revocations(
        users={r["user_id"]: r["revoked_before"].timestamp() for r in users},
        sessions=frozenset(r["session_id"] for r in sessions),
    )


async def forget_expired(conn: Connection, *, now: datetime) -> int:
    """Delete the rows every token of which has expired; return how many."""
    users = await conn.execute("DELETE FROM revoked_users WHERE forget_after <= $1", now)
    sessions = await conn.execute("DELETE FROM ended_sessions WHERE forget_after <= $1", now)
    return int(users.split()[-1]) + int(sessions.split()[-1])


# --- the consumer's handlers -------------------------------------------------------------------


async def on_user_tokens_revoked(ctx: HandlerContext, event: UserTokensRevoked) -> None:
    """Refuse the user's tokens issued so far (nothing to keep once they have all expired, as
    when a new consumer group reads the topic's history)."""
    if event.tokens_expire_by + FORGET_MARGIN <= ctx.clock.now():
        return
    await record_user_revocation(
        ctx.conn,
        user_id=event.user_id,
        revoked_before=event.revoked_before,
        tokens_expire_by=event.tokens_expire_by,
    )
    log.info("user's tokens revoked", user_id=str(event.user_id), reason=event.reason)


async def on_session_ended(ctx: HandlerContext, event: SessionEnded) -> None:
    """Refuse the session's tokens (nothing to keep once they have all expired)."""
    if event.tokens_expire_by + FORGET_MARGIN <= ctx.clock.now():
        return
    await record_session_end(
        ctx.conn,
        session_id=event.session_id,
        user_id=event.user_id,
        tokens_expire_by=event.tokens_expire_by,
    )
    log.info("session ended", session_id=str(event.session_id), reason=event.reason)


REVOCATION_EVENTS = frozenset({UserTokensRevoked.EVENT_TYPE, SessionEnded.EVENT_TYPE})


def follow_revocations(consumer: EventConsumer) -> EventConsumer:
    """Have this consumer group keep its service's revocation list: `accounts.events` among
    its topics, and the handlers of `UserTokensRevoked` and `SessionEnded`."""
    if ACCOUNTS_EVENTS not in consumer.topics:
        consumer.topics = [*consumer.topics, ACCOUNTS_EVENTS]
    consumer.handle(on_user_tokens_revoked, on_session_ended)
    return consumer


def keeps_revocations(consumer: EventConsumer) -> bool:
    """Whether this consumer group applies the revocation events."""
    return set(consumer.handlers) >= REVOCATION_EVENTS


# --- each replica's reading --------------------------------------------------------------------


class RevocationRefresher:
    """Reads the tables into the list (`sweep`, every `REVOCATIONS_REFRESH_S` by a periodic
    worker), and once a minute deletes the rows whose tokens have all expired."""

    def __init__(self, pool: asyncpg.Pool, revocations: RevocationList, *, clock: Clock) -> None:
        self._pool = pool
        self._revocations = revocations
        self._clock = clock
        self._forgotten_at = float("-inf")

    async def read(self) -> Revocations:
        """Read the tables now and put the reading in the list."""
        async with self._pool.acquire() as conn:
            reading = await read_revocations(conn, now=self._clock.now())
        self._revocations.replace(reading)
        return reading

    async def sweep(self) -> int:
        """One reading (and, once a minute, the deletion of expired rows); returns 0, so the
        periodic worker waits its interval before the next."""
        await self.read()
        if time.monotonic() - self._forgotten_at >= FORGET_EVERY_S:
            self._forgotten_at = time.monotonic()
            async with self._pool.acquire() as conn:
                forgotten = await forget_expired(conn, now=self._clock.now())
            if forgotten:
                log.info("expired revocations forgotten", rows=forgotten)
        return 0
