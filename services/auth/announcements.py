"""What auth tells the other services about organizations and users (`accounts.events`), and
when: the events a stored organization, a stored user and a change to a user cause. Each is
published in the transaction that made the change.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from contracts.accounts import (
    OrganizationCreated,
    UserCreated,
    UserDeactivated,
    UserLanguageChanged,
    UserReactivated,
    UserRolesChanged,
)
from contracts.common import EventModel
from services.auth.domain import Organization, User
from services.runtime.db import Connection
from services.runtime.outbox import emit


async def publish(
    conn: Connection,
    event: EventModel,
    *,
    aggregate_id: uuid.UUID,
    version: int,
    org_id: uuid.UUID,
    now: datetime,
) -> None:
    """Put an account event in the outbox (the caller's transaction)."""
    await emit(
        conn,
        event,
        source="auth",
        aggregate_id=aggregate_id,
        aggregate_version=version,
        org_id=org_id,
        occurred_at=now,
    )


async def organization_created(conn: Connection, org: Organization, *, now: datetime) -> None:
    """Announce a stored organization (in the transaction that stored it)."""
    event = OrganizationCreated(org_id=org.id, name=org.name, kind=org.kind)
    await publish(conn, event, aggregate_id=org.id, version=1, org_id=org.id, now=now)


async def user_created(conn: Connection, user: User, *, now: datetime) -> None:
    """Announce a stored user (in the transaction that stored them)."""
    event = UserCreated(
        user_id=user.id,
        org_id=user.org_id,
        email=user.email,
        display_name=user.display_name,
        language=user.language,
        roles=tuple(sorted(user.roles)),
    )
    await publish(
        conn, event, aggregate_id=user.id, version=user.version, org_id=user.org_id, now=now
    )


def user_changes(before: User, after: User) -> list[EventModel]:
    """The events a change to a user causes, in order: deactivated or reactivated, a new
    language, new roles."""
    who = {"user_id": after.id, "org_id": after.org_id}
    events: list[EventModel] = []
    if before.active and not after.active:
        events.append(UserDeactivated(**who))
    if not before.active and after.active:
        events.append(UserReactivated(**who))
    if before.language != after.language:
        events.append(UserLanguageChanged(**who, language=after.language))
    if before.roles != after.roles:
        events.append(UserRolesChanged(**who, roles=tuple(sorted(after.roles))))
    return events
