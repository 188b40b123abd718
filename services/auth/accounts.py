"""Use cases of signing in: login, refresh, logout, password links and resets.

HTTP-free: the API turns the exceptions into answers. Nothing here logs a password, a token or a
link; the e-mails go out through the outbox (`PasswordResetRequested`, `PasswordResetCompleted`)
and the notify service.

Around 480 lines: sign-in, refresh, logout and the password links share the session and token
rules and the throttle, and each use case is short; the SQL is in the *_repository modules.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

import asyncpg
import structlog
from pydantic import SecretStr

from contracts.accounts import PasswordResetCompleted, PasswordResetRequested
from contracts.common import Person
from services.auth import (
    password_link_repository,
    repository,
    revoking,
    session_repository,
    throttle,
    throttle_repository,
)
from services.auth.domain import User, normalize_email
from services.auth.metrics import SIGNIN_FAILURES, SIGNIN_THROTTLED
from services.auth.passwords import Passwords, check_new_password
from services.auth.settings import AuthSettings
from services.auth.throttle import LinkCap, ThrottlePolicy
from services.auth.tokens import AccessTokens, SessionPolicy, new_opaque_token, token_hash
from services.runtime.clock import Clock
from services.runtime.db import Connection
from services.runtime.identity import Principal
from services.runtime.outbox import emit

log = structlog.get_logger(__name__)

_REFUSAL_LABEL = {
    "unknown e-mail": "unknown_email",
    "no password yet": "no_password",
    "wrong password": "wrong_password",
    "inactive user": "inactive",
}

SOURCE = "auth"


class LoginRefusedError(Exception):
    """Wrong e-mail or password, or an account that cannot sign in: one answer for all."""


class ThrottledError(Exception):
    """Too many failed attempts for this account or address; wait before trying again."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class RefreshRefusedError(Exception):
    """The refresh token is unknown, expired, revoked or was already used."""


class PasswordLinkError(Exception):
    """The password link is unknown, expired or was already used."""


@dataclass(frozen=True)
class Client:
    """Where a request came from (the address as the trusted proxies reported it)."""

    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class SignedIn:
    user: User
    access_token: str
    access_expires_in: int
    refresh_token: str
    refresh_expires_at: datetime
    persistent: bool


def principal_of(user: User, session_id: uuid.UUID | None = None) -> Principal:
    return Principal(
        user_id=user.id,
        org_id=user.org_id,
        roles=frozenset(user.roles),
        email=user.email,
        display_name=user.display_name,
        language=user.language,
        session_id=session_id,
    )


def person_of(user: User) -> Person:
    return Person(
        user_id=user.id, email=user.email, display_name=user.display_name, language=user.language
    )


class Accounts:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: AuthSettings,
        *,
        passwords: Passwords,
        access_tokens: AccessTokens,
        clock: Clock,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._settings = settings
        self._passwords = passwords
        self._access = access_tokens
        self._sessions = SessionPolicy(
            ttl=timedelta(seconds=settings.session_ttl_s),
            persistent_ttl=timedelta(seconds=settings.persistent_session_ttl_s),
        )
        common = {
            "base_wait_s": settings.throttle_base_wait_s,
            "max_wait_s": settings.throttle_max_wait_s,
            "forget_after_s": settings.throttle_forget_after_s,
        }
        self._account_policy = ThrottlePolicy(
            free_failures=settings.throttle_account_free_failures, **common
        )
        self._address_policy = ThrottlePolicy(
            free_failures=settings.throttle_ip_free_failures, **common
        )
        self._link_cap = LinkCap(
            per_window=settings.password_links_per_window,
            window_s=settings.password_link_window_s,
        )

    @property
    def access_token_ttl(self) -> timedelta:
        """How long an access token lives: a revocation concerns tokens for that long."""
        return self._access.ttl

    # --- sign-in ---------------------------------------------------------------------------------

    async def login(
        self, *, email: str, password: str, stay_signed_in: bool, client: Client
    ) -> SignedIn:
        now = self._clock.now()
        keys = self._throttle_keys(normalize_email(email), client)
        async with self._pool.acquire() as conn:
            states = await throttle_repository.throttle_states(conn, keys=list(keys))
            found = await repository.credentials_of(conn, email=email)
        waits = {k: throttle.wait_s(states.get(k), now) for k in keys}
        wait = max(waits.values(), default=0.0)
        if wait > 0:
            for key in (k for k, w in waits.items() if w > 0):
                SIGNIN_THROTTLED.labels(throttle.scope_of(key)).inc()
            log.info("sign-in throttled", retry_after_s=math.ceil(wait))
            raise ThrottledError(math.ceil(wait))
        user, stored_hash = found if found else (None, None)
        verification = await self._passwords.verify(stored_hash, password)
        if user is None or not verification.ok or not user.active:
            await self._record_failure(keys, now)
            reason = (
                "unknown e-mail"
                if user is None
                else "no password yet"
                if stored_hash is None
                else "wrong password"
                if not verification.ok
                else "inactive user"
            )
            SIGNIN_FAILURES.labels(_REFUSAL_LABEL[reason]).inc()
            log.info("sign-in refused", reason=reason)
            raise LoginRefusedError
        checked_hash = stored_hash
        if verification.needs_rehash and stored_hash is not None:
            new_hash = await self._passwords.hash(password)
            async with self._pool.acquire() as conn:
                await repository.rehash_password(
                    conn, user_id=user.id, old_hash=stored_hash, new_hash=new_hash
                )
            checked_hash = new_hash
            log.info("password rehashed with current parameters", user_id=str(user.id))
        async with self._pool.acquire() as conn, conn.transaction():
            # The user as they are now, held while the token's issue time is read
            # (services/auth/revoking.py); a deactivation or a reset that came while the
            # password was being checked wins.
            current = await repository.lock_credentials(conn, user_id=user.id)
            if current is None or not current[0].active or current[1] != checked_hash:
                SIGNIN_FAILURES.labels("changed").inc()
                log.info("sign-in refused", reason="account changed while signing in")
                raise LoginRefusedError
            user = current[0]
            issued_at = self._clock.now()
            await throttle_repository.clear_throttle(conn, key=throttle.account_key(user.email))
            session = await session_repository.create_session(
                conn,
                user_id=user.id,
                persistent=stay_signed_in,
                now=issued_at,
                expires_at=self._sessions.expires_at(
                    persistent=stay_signed_in, started_at=issued_at, now=issued_at
                ),
                client_ip=client.ip,
                user_agent=client.user_agent,
            )
            refresh = await self._new_refresh_token(conn, session.id, session.expires_at)
        log.info(
            "signed in", user_id=str(user.id), session_id=str(session.id), persistent=stay_signed_in
        )
        return await self._signed_in(
            user, session.id, refresh, session.expires_at, stay_signed_in, issued_at=issued_at
        )

    async def refresh(self, *, refresh_token: str) -> SignedIn:
        """Rotate a refresh token; a rotated one presented again revokes its whole session."""
        hashed = token_hash(refresh_token)
        outcome: Literal["ok", "reused", "refused"] = "refused"
        async with self._pool.acquire() as conn, conn.transaction():
            owner = await session_repository.refresh_token_owner(conn, token_hash=hashed)
            # The user's row before the session's, the order every transaction here takes them
            # in; held while the token's issue time is read (services/auth/revoking.py).
            credentials = await repository.lock_credentials(conn, user_id=owner) if owner else None
            found = await session_repository.lock_refresh_token(conn, token_hash=hashed)
            now = self._clock.now()
            if found is not None and credentials is not None:
                session, user = found.session, credentials[0]
                if found.rotated_at is not None:
                    await revoking.end_session(
                        conn,
                        session_id=session.id,
                        user=user,
                        reason="refresh token reused",
                        clock=self._clock,
                        token_ttl=self._access.ttl,
                    )
                    outcome = "reused"
                elif (
                    session.revoked_at is not None
                    or min(session.expires_at, found.expires_at) <= now
                ):
                    outcome = "refused"
                elif not user.active:
                    # A deactivation revoked the user's tokens and sessions already.
                    await session_repository.revoke_session(
                        conn, session_id=session.id, reason="user inactive", now=now
                    )
                    outcome = "refused"
                else:
                    await session_repository.mark_rotated(conn, token_hash=hashed, now=now)
                    expires_at = self._sessions.expires_at(
                        persistent=session.persistent, started_at=session.created_at, now=now
                    )
                    await session_repository.extend_session(
                        conn, session_id=session.id, now=now, expires_at=expires_at
                    )
                    new_token = await self._new_refresh_token(conn, session.id, expires_at)
                    outcome = "ok"
        if outcome == "reused":
            assert found is not None
            log.warning(
                "rotated refresh token presented again: session revoked",
                session_id=str(found.session.id),
                user_id=str(found.session.user_id),
            )
        if outcome != "ok":
            raise RefreshRefusedError
        assert found is not None and credentials is not None
        return await self._signed_in(
            credentials[0],
            found.session.id,
            new_token,
            expires_at,
            found.session.persistent,
            issued_at=now,
        )

    async def logout(self, *, refresh_token: str) -> None:
        """End the session the refresh token belongs to, and with it every access token it
        gave (nothing happens for unknown tokens or a session that has ended)."""
        async with self._pool.acquire() as conn, conn.transaction():
            found = await session_repository.lock_refresh_token(
                conn, token_hash=token_hash(refresh_token)
            )
            user = await repository.get_user(conn, user_id=found.session.user_id) if found else None
            if found is not None and user is not None:
                ended = await revoking.end_session(
                    conn,
                    session_id=found.session.id,
                    user=user,
                    reason="logout",
                    clock=self._clock,
                    token_ttl=self._access.ttl,
                )
                log.info("signed out", session_id=str(found.session.id), session_was_open=ended)

    # --- password links --------------------------------------------------------------------------

    async def request_reset(self, *, email: str, client: Client) -> None:
        """E-mail a reset link if an active account has this e-mail and the address has not had
        its links for the window; the caller learns nothing either way."""
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            user = await repository.find_user_by_email(conn, email=email)
            matched = user if user is not None and user.active else None
            sent = matched is not None and await self.send_password_link(
                conn, matched, purpose="reset"
            )
            await password_link_repository.record_reset_request(
                conn,
                email=email,
                user_id=matched.id if matched else None,
                client_ip=client.ip,
                link_sent=sent,
                at=now,
            )
        log.info("password reset requested", matched=matched is not None, link_sent=sent)

    async def send_password_link(
        self, conn: Connection, user: User, *, purpose: Literal["reset", "invitation"]
    ) -> bool:
        """Create a single-use link for the user and have it e-mailed (in the caller's
        transaction), unless the address already had `PASSWORD_LINKS_PER_WINDOW` links within
        the window: then nothing is made or sent, and the caller answers as if it had been.
        Returns whether a link went out."""
        now = self._clock.now()
        recent = await password_link_repository.count_password_links(
            conn, user_id=user.id, since=self._link_cap.since(now)
        )
        if not self._link_cap.allows(recent):
            log.info(
                "password link not sent: the address had its links for now",
                user_id=str(user.id),
                purpose=purpose,
                links_in_window=recent,
            )
            return False
        ttl = (
            self._settings.reset_token_ttl_s
            if purpose == "reset"
            else self._settings.invitation_token_ttl_s
        )
        expires_at = now + timedelta(seconds=ttl)
        token = new_opaque_token()
        await password_link_repository.add_password_token(
            conn,
            token_hash=token_hash(token),
            user_id=user.id,
            purpose=purpose,
            created_at=now,
            expires_at=expires_at,
        )
        base = self._settings.portal_url.rstrip("/")
        await emit(
            conn,
            PasswordResetRequested(
                user=person_of(user),
                org_id=user.org_id,
                purpose=purpose,
                reset_url=SecretStr(f"{base}{self._settings.reset_path}?token={token}"),
                expires_at=expires_at,
            ),
            source=SOURCE,
            aggregate_id=user.id,
            aggregate_version=user.version,
            org_id=user.org_id,
            occurred_at=now,
        )
        return True

    async def complete_reset(self, *, token: str, password: str, repeated: str) -> None:
        """Set the new password through a link; end all the user's sessions; do not sign in."""
        check_new_password(password, repeated)
        new_hash = await self._passwords.hash(password)
        now = self._clock.now()
        async with self._pool.acquire() as conn, conn.transaction():
            link = await password_link_repository.lock_password_token(
                conn, token_hash=token_hash(token)
            )
            if link is None or link.used_at is not None or link.expires_at <= now:
                reason = (
                    "unknown" if link is None else "used" if link.used_at is not None else "expired"
                )
                log.info("password link refused", reason=reason)
                raise PasswordLinkError
            user = await repository.get_user(conn, user_id=link.user_id, lock=True)
            if user is None or not user.active:
                log.info("password link refused", reason="inactive user")
                raise PasswordLinkError
            version = await repository.set_password_hash(
                conn, user_id=user.id, password_hash=new_hash
            )
            await password_link_repository.use_password_tokens(conn, user_id=user.id, now=now)
            revoked = await session_repository.revoke_user_sessions(
                conn, user_id=user.id, reason="password reset", now=now
            )
            await revoking.revoke_user_tokens(
                conn,
                user=replace(user, version=version),
                reason="password reset",
                clock=self._clock,
                token_ttl=self._access.ttl,
            )
            await throttle_repository.clear_throttle(conn, key=throttle.account_key(user.email))
            await emit(
                conn,
                PasswordResetCompleted(user=person_of(user), org_id=user.org_id, completed_at=now),
                source=SOURCE,
                aggregate_id=user.id,
                aggregate_version=version,
                org_id=user.org_id,
                occurred_at=now,
            )
        log.info(
            "password set through a link",
            user_id=str(user.id),
            purpose=link.purpose,
            sessions_revoked=revoked,
        )

    # --- helpers ---------------------------------------------------------------------------------

    def _throttle_keys(self, normalized_email: str, client: Client) -> dict[str, ThrottlePolicy]:
        keys = {throttle.account_key(normalized_email): self._account_policy}
        if client.ip:
            keys[throttle.address_key(client.ip)] = self._address_policy
        return keys

    async def _record_failure(self, keys: dict[str, ThrottlePolicy], now: datetime) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            for key, policy in keys.items():
                state = await throttle_repository.lock_throttle_state(conn, key=key)
                await throttle_repository.save_throttle_state(
                    conn, key=key, state=throttle.after_failure(state, now, policy)
                )

    async def _new_refresh_token(
        self, conn: Connection, session_id: uuid.UUID, expires_at: datetime
    ) -> str:
        token = new_opaque_token()
        await session_repository.add_refresh_token(
            conn, session_id=session_id, token_hash=token_hash(token), expires_at=expires_at
        )
        return token

    async def _signed_in(
        self,
        user: User,
        session_id: uuid.UUID,
        refresh_token: str,
        refresh_expires_at: datetime,
        persistent: bool,
        *,
        issued_at: datetime,
    ) -> SignedIn:
        """The tokens of a sign-in. `issued_at` (the access token's `iat`) was read from the
        clock while the user's row was held, the user read under that lock
        (services/auth/revoking.py); signing itself may come after the commit."""
        access = await self._access.issue(principal_of(user, session_id), now=issued_at)
        return SignedIn(
            user=user,
            access_token=access,
            access_expires_in=int(self._access.ttl.total_seconds()),
            refresh_token=refresh_token,
            refresh_expires_at=refresh_expires_at,
            persistent=persistent,
        )
