"""HTTP routes of the notification service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from services.notify import repository
from services.runtime.app import CurrentClock, Pool
from services.runtime.identity import CurrentPrincipal
from services.runtime.paging import CursorPage, CursorParam, NoOffset, WithTotal, after_cursor


class EmailOut(BaseModel):
    id: uuid.UUID
    kind: str
    """The event it tells about (TicketAccepted, PasswordResetRequested, ...)."""
    recipient: str
    subject: str
    body: str
    ticket_id: uuid.UUID | None
    status: str
    """`pending` (not yet accepted by the mail server; retried), `sending` (being handed to it
    now), `sent`, or `failed` for good."""
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None


HIDDEN_BODY = "(This e-mail carries a password link and is not shown here.)"

router = APIRouter(prefix="/api/notify", tags=["notify"])


@router.get("/emails", response_model=CursorPage[EmailOut], dependencies=[NoOffset])
async def list_emails(
    principal: CurrentPrincipal,
    pool: Pool,
    *,
    ticket_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: CursorParam = None,
    with_total: WithTotal = False,
) -> CursorPage[EmailOut]:
    """E-mails sent to the caller (consultants: to anyone), newest first. The next page is
    asked with `cursor` = the previous page's `next_cursor`."""
    after = after_cursor(cursor, datetime, uuid.UUID)
    async with pool.acquire() as conn:
        emails, total = await repository.emails_for(
            conn,
            recipient_id=None if principal.is_staff else principal.user_id,
            org_id=principal.org_scope,
            ticket_id=ticket_id,
            limit=limit,
            after=after,
            with_total=with_total,
        )
    return CursorPage[EmailOut].of(
        emails, limit=limit, item=_email_out, key=lambda e: (e.created_at, e.id), total=total
    )


def _email_out(e: repository.Email) -> EmailOut:
    body = HIDDEN_BODY if e.sensitive else e.body
    return EmailOut.model_validate({**vars(e), "kind": e.event_type, "body": body})


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    release_emails: bool
    """E-mails about new releases of the programs the organization is licensed for."""


class PreferencesOut(BaseModel):
    release_emails: bool


@router.get("/preferences", response_model=PreferencesOut)
async def get_preferences(principal: CurrentPrincipal, pool: Pool) -> PreferencesOut:
    """The caller's choices of optional e-mails (ticket and password e-mails are not optional)."""
    async with pool.acquire() as conn:
        chosen = await repository.get_preferences(conn, user_id=principal.user_id)
    return PreferencesOut(release_emails=chosen.release_emails)


@router.put("/preferences", response_model=PreferencesOut)
async def set_preferences(
    body: PreferencesIn, principal: CurrentPrincipal, pool: Pool, clock: CurrentClock
) -> PreferencesOut:
    """Turn the optional e-mails on or off for the caller."""
    async with pool.acquire() as conn:
        await repository.set_preferences(
            conn,
            user_id=principal.user_id,
            preferences=repository.Preferences(release_emails=body.release_emails),
            at=clock.now(),
        )
    return PreferencesOut(release_emails=body.release_emails)
