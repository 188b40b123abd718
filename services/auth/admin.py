"""Use cases of administration: organizations, users, invitations, the legacy import.

Vendor admins manage everything; customer admins the users of their own organization. Changes the
other services need are published through the outbox in the same transaction (announcements.py
says which).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import structlog

from services.auth import announcements, repository, revoking, session_repository
from services.auth.accounts import Accounts
from services.auth.domain import (
    AccountError,
    ForbiddenError,
    Language,
    Organization,
    User,
    admin_org_scope,
    can_manage_users_of,
    check_roles,
    is_vendor_admin,
    normalize_email,
)
from services.auth.legacy_import import LegacyUser
from services.runtime.clock import Clock
from services.runtime.db import Connection
from services.runtime.identity import Principal

log = structlog.get_logger(__name__)


class NotFoundError(AccountError):
    """No such thing, or not one the caller may see."""


class ConflictError(AccountError):
    """It exists already."""


def _require_vendor_admin(actor: Principal) -> None:
    if not is_vendor_admin(actor.roles):
        raise ForbiddenError("Only vendor administrators may do this.")


def _require_admin(actor: Principal) -> None:
    if not actor.roles & {"vendor_admin", "customer_admin"}:
        raise ForbiddenError("Only administrators may do this.")


async def _create_organization(conn: Connection, org: Organization, *, now: datetime) -> None:
    if not await repository.insert_organization(conn, org=org):
        raise ConflictError(f"An organization named {org.name!r} exists already.")
    await announcements.organization_created(conn, org, now=now)


async def _create_user(conn: Connection, user: User, *, now: datetime) -> None:
    if not await repository.insert_user(conn, user=user):
        raise ConflictError(f"A user with the e-mail {user.email} exists already.")
    await announcements.user_created(conn, user, now=now)


@dataclass(frozen=True)
class ImportResult:
    organizations_created: int
    users_created: int
    users_unchanged: int
    invitations_sent: int


class Administration:
    def __init__(self, pool: asyncpg.Pool, accounts: Accounts, *, clock: Clock) -> None:
        self._pool = pool
        self._accounts = accounts
        self._clock = clock

    async def create_organization(self, actor: Principal, *, name: str) -> Organization:
        _require_vendor_admin(actor)
        org = Organization(id=uuid.uuid4(), name=name, kind="customer")
        async with self._pool.acquire() as conn, conn.transaction():
            await _create_organization(conn, org, now=self._clock.now())
        log.info("organization created", org_id=str(org.id))
        return org

    async def list_organizations(
        self,
        actor: Principal,
        *,
        limit: int,
        after: tuple[str, uuid.UUID] | None,
        with_total: bool,
    ) -> tuple[list[Organization], int | None]:
        """Up to `limit + 1` organizations by name after `after`; a customer admin's own."""
        _require_admin(actor)
        async with self._pool.acquire() as conn:
            if is_vendor_admin(actor.roles):
                return await repository.list_organizations(
                    conn, limit=limit, after=after, with_total=with_total
                )
            own = await repository.get_organization(conn, org_id=actor.org_id)
        total = (1 if own else 0) if with_total else None
        return ([own] if own and after is None else []), total

    async def get_organization(self, actor: Principal, org_id: uuid.UUID) -> Organization:
        _require_admin(actor)
        if not can_manage_users_of(actor.roles, actor.org_id, org_id):
            raise NotFoundError("No such organization.")
        async with self._pool.acquire() as conn:
            org = await repository.get_organization(conn, org_id=org_id)
        if org is None:
            raise NotFoundError("No such organization.")
        return org

    async def list_users(
        self,
        actor: Principal,
        *,
        org_id: uuid.UUID | None,
        limit: int,
        after: str | None,
        with_total: bool,
    ) -> tuple[list[User], int | None]:
        """Up to `limit + 1` users by e-mail after `after`; customer admins see their own
        organization's only."""
        _require_admin(actor)
        scope = admin_org_scope(actor.roles, actor.org_id)
        if scope is not None and org_id not in (None, scope):
            return [], 0 if with_total else None
        async with self._pool.acquire() as conn:
            return await repository.list_users(
                conn, org_id=scope or org_id, limit=limit, after=after, with_total=with_total
            )

    async def get_user(self, actor: Principal, user_id: uuid.UUID) -> User:
        _require_admin(actor)
        async with self._pool.acquire() as conn:
            user = await repository.get_user(
                conn, user_id=user_id, org_id=admin_org_scope(actor.roles, actor.org_id)
            )
        if user is None:
            raise NotFoundError("No such user.")
        return user

    async def get_self(self, actor: Principal) -> User:
        """The caller's own account; `NotFoundError` once it is gone or deactivated."""
        async with self._pool.acquire() as conn:
            user = await repository.get_user(conn, user_id=actor.user_id)
        if user is None or not user.active:
            raise NotFoundError("No such user.")
        return user

    async def create_user(
        self,
        actor: Principal,
        *,
        org_id: uuid.UUID,
        email: str,
        display_name: str,
        language: Language,
        roles: frozenset[str],
        invite: bool,
    ) -> User:
        _require_admin(actor)
        if not can_manage_users_of(actor.roles, actor.org_id, org_id):
            raise NotFoundError("No such organization.")
        async with self._pool.acquire() as conn, conn.transaction():
            org = await repository.get_organization(conn, org_id=org_id)
            if org is None:
                raise NotFoundError("No such organization.")
            check_roles(org.kind, roles)
            user = User(
                id=uuid.uuid4(),
                org_id=org.id,
                email=normalize_email(email),
                display_name=display_name,
                language=language,
                roles=roles,  # type: ignore[arg-type]
                active=True,
            )
            await _create_user(conn, user, now=self._clock.now())
            if invite:
                await self._accounts.send_password_link(conn, user, purpose="invitation")
        log.info("user created", user_id=str(user.id), org_id=str(org.id), invited=invite)
        return user

    async def update_user(
        self, actor: Principal, user_id: uuid.UUID, changes: dict[str, Any]
    ) -> User:
        """Change name, language, roles or the active flag. Users may change their own name and
        language; everything else needs an administrator of the user's organization."""
        own_fields = {"display_name", "language"}
        if not (actor.user_id == user_id and set(changes) <= own_fields):
            _require_admin(actor)
        if actor.user_id == user_id and changes.get("active") is False:
            raise AccountError("You cannot deactivate yourself.")
        async with self._pool.acquire() as conn, conn.transaction():
            user = await repository.get_user(conn, user_id=user_id, lock=True)
            if user is None or not (
                actor.user_id == user_id
                or can_manage_users_of(actor.roles, actor.org_id, user.org_id)
            ):
                raise NotFoundError("No such user.")
            if "roles" in changes:
                org = await repository.get_organization(conn, org_id=user.org_id)
                assert org is not None
                check_roles(org.kind, frozenset(changes["roles"]))
            effective = {k: v for k, v in changes.items() if getattr(user, k) != v}
            if not effective:
                return user
            updated = await repository.update_user(conn, user_id=user.id, changes=effective)
            await self._publish_changes(conn, user, updated)
        log.info("user changed", user_id=str(user.id), fields=sorted(effective))
        return updated

    async def _publish_changes(self, conn: Connection, before: User, after: User) -> None:
        """Publish what changed; a deactivation ends the user's sessions, and a deactivation or
        new roles revoke the access tokens signed so far (the row is held FOR UPDATE)."""
        now = self._clock.now()
        deactivated = before.active and not after.active
        if deactivated:
            await session_repository.revoke_user_sessions(
                conn, user_id=after.id, reason="deactivated", now=now
            )
        for event in announcements.user_changes(before, after):
            await announcements.publish(
                conn,
                event,
                aggregate_id=after.id,
                version=after.version,
                org_id=after.org_id,
                now=now,
            )
        if deactivated or before.roles != after.roles:
            # A token with the old roles would keep them until it expires; the session lives
            # on (unless deactivated), so the next refresh signs one with the new roles.
            await revoking.revoke_user_tokens(
                conn,
                user=after,
                reason="deactivated" if deactivated else "roles changed",
                clock=self._clock,
                token_ttl=self._accounts.access_token_ttl,
            )

    async def invite(self, actor: Principal, user_id: uuid.UUID) -> None:
        """Send (again) a first-login invitation to a user who has no password yet."""
        _require_admin(actor)
        async with self._pool.acquire() as conn, conn.transaction():
            user = await repository.get_user(
                conn, user_id=user_id, org_id=admin_org_scope(actor.roles, actor.org_id)
            )
            if user is None:
                raise NotFoundError("No such user.")
            if user.has_password:
                raise ConflictError("The user has a password; they can reset it themselves.")
            if not user.active:
                raise ConflictError("The user is deactivated.")
            # Beyond the address's cap nothing goes out; the answer does not say so.
            sent = await self._accounts.send_password_link(conn, user, purpose="invitation")
        log.info("invitation requested", user_id=str(user.id), link_sent=sent)

    async def import_legacy_users(
        self, actor: Principal, rows: list[LegacyUser], *, invite: bool
    ) -> ImportResult:
        """Create the organizations and users of a legacy file that do not exist yet; all or
        nothing. Running it twice changes nothing the second time."""
        _require_vendor_admin(actor)
        orgs_created = users_created = unchanged = invitations_sent = 0
        conflicts: list[str] = []
        async with self._pool.acquire() as conn, conn.transaction():
            orgs: dict[str, Organization] = {}
            for row in rows:
                key = row.organization.lower()
                if key not in orgs:
                    org = await repository.find_organization_by_name(conn, name=row.organization)
                    if org is None:
                        org = Organization(uuid.uuid4(), row.organization, "customer")
                        await _create_organization(conn, org, now=self._clock.now())
                        orgs_created += 1
                    orgs[key] = org
                org = orgs[key]
                existing = await repository.find_user_by_email(conn, email=row.email)
                if existing is not None:
                    if existing.org_id != org.id:
                        conflicts.append(
                            f"line {row.line}: {row.email} belongs to another organization"
                        )
                    unchanged += 1
                    continue
                user = User(
                    uuid.uuid4(),
                    org.id,
                    row.email,
                    row.name,
                    row.language,
                    frozenset({"customer"}),
                    True,
                )
                await _create_user(conn, user, now=self._clock.now())
                if invite and await self._accounts.send_password_link(
                    conn, user, purpose="invitation"
                ):
                    invitations_sent += 1
                users_created += 1
            if conflicts:
                raise ConflictError("; ".join(conflicts))
        result = ImportResult(orgs_created, users_created, unchanged, invitations_sent)
        log.info("legacy users imported", **result.__dict__)
        return result
