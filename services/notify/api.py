"""HTTP routes of the notification service."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from services.notify import repository
from services.runtime.app import Pool
from services.runtime.identity import CurrentPrincipal


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


@router.get("/emails", response_model=list[EmailOut])
async def list_emails(
    principal: CurrentPrincipal,
    pool: Pool,
    ticket_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[EmailOut]:
    """E-mails sent to the caller (consultants: to anyone), newest first."""
    async with pool.acquire() as conn:
        emails = await repository.emails_for(
            conn,
            recipient_id=None if principal.is_staff else principal.user_id,
            org_id=principal.org_scope,
            ticket_id=ticket_id,
            limit=limit,
            offset=offset,
        )
    return [
        EmailOut(
            id=e.id,
            kind=e.event_type,
            recipient=e.recipient,
            subject=e.subject,
            body=HIDDEN_BODY if e.sensitive else e.body,
            ticket_id=e.ticket_id,
            status=e.status,
            attempts=e.attempts,
            created_at=e.created_at,
            sent_at=e.sent_at,
            failed_at=e.failed_at,
        )
        for e in emails
    ]
