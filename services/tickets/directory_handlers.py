"""The tickets service's directory of organizations and users, kept from `accounts.events`: so
consultants and the import can name requesters by e-mail, and the roles and the active flag are
known without asking auth."""

from __future__ import annotations

import uuid

import structlog

from contracts.accounts import (
    OrganizationCreated,
    UserCreated,
    UserDeactivated,
    UserLanguageChanged,
    UserReactivated,
    UserRolesChanged,
)
from services.runtime.consumer import HandlerContext
from services.tickets import directory, directory_repository

log = structlog.get_logger(__name__)


async def on_organization_created(ctx: HandlerContext, event: OrganizationCreated) -> None:
    """Remember the organization."""
    await directory_repository.upsert_organization(
        ctx.conn, org_id=event.org_id, name=event.name, kind=event.kind
    )


async def on_user_created(ctx: HandlerContext, event: UserCreated) -> None:
    """Remember the user, so consultants and imports can name them by e-mail."""
    await directory_repository.insert_directory_user(
        ctx.conn,
        user=directory.DirectoryUser(
            event.user_id,
            event.org_id,
            event.email,
            event.display_name,
            event.language,
            frozenset(event.roles),
            True,
        ),
        version=ctx.envelope.aggregate_version,
    )


async def _update_user(ctx: HandlerContext, user_id: uuid.UUID, **changes: object) -> None:
    applied = await directory_repository.update_directory_user(
        ctx.conn, user_id=user_id, version=ctx.envelope.aggregate_version, changes=changes
    )
    if not applied:
        log.info("user change not newer than the one known, or user unknown", user_id=str(user_id))


async def on_user_deactivated(ctx: HandlerContext, event: UserDeactivated) -> None:
    """Consultants can no longer record tickets for a deactivated user."""
    await _update_user(ctx, event.user_id, active=False)


async def on_user_reactivated(ctx: HandlerContext, event: UserReactivated) -> None:
    await _update_user(ctx, event.user_id, active=True)


async def on_user_language_changed(ctx: HandlerContext, event: UserLanguageChanged) -> None:
    await _update_user(ctx, event.user_id, language=event.language)


async def on_user_roles_changed(ctx: HandlerContext, event: UserRolesChanged) -> None:
    await _update_user(ctx, event.user_id, roles=sorted(event.roles))
