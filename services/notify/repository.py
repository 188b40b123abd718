"""All SQL of the notification service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.runtime.db import Connection


@dataclass(frozen=True)
class EmailIntent:
    dedupe_key: str
    event_id: uuid.UUID
    event_type: str
    org_id: uuid.UUID | None
    ticket_id: uuid.UUID | None
    recipient_id: uuid.UUID | None
    recipient: str
    language: str
    subject: str
    body: str
    sensitive: bool = False


@dataclass(frozen=True)
class Email:
    id: uuid.UUID
    recipient: str
    subject: str
    body: str
    ticket_id: uuid.UUID | None
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    sensitive: bool = False


def _email(r: asyncpg.Record) -> Email:
    return Email(
        r["id"],
        r["recipient"],
        r["subject"],
        r["body"],
        r["ticket_id"],
        r["status"],
        r["attempts"],
        r["created_at"],
        r["sent_at"],
        r["sensitive"],
    )


async def record_intent(conn: Connection, *, intent: EmailIntent) -> bool:
    """Record an e-mail to send; False when one with the same dedupe key exists already."""
    inserted = await conn.fetchval(
        """INSERT INTO emails (id, dedupe_key, event_id, event_type, org_id, ticket_id,
                               recipient_id, recipient, language, subject, body, sensitive)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
           ON CONFLICT (dedupe_key) DO NOTHING RETURNING true""",
        uuid.uuid4(),
        intent.dedupe_key,
        intent.event_id,
        intent.event_type,
        intent.org_id,
        intent.ticket_id,
        intent.recipient_id,
        intent.recipient,
        intent.language,
        intent.subject,
        intent.body,
        intent.sensitive,
    )
    return bool(inserted)


async def claim_due(conn: Connection, *, limit: int) -> list[Email]:
    """Lock pending e-mails that are due; other senders skip them. Call inside a transaction."""
    rows = await conn.fetch(
        """SELECT * FROM emails WHERE status = 'pending' AND next_attempt_at <= now()
           ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED""",
        limit,
    )
    return [_email(r) for r in rows]


REDACTED_BODY = "(This e-mail carried a password link; its text is not kept after sending.)"


async def mark_sent(conn: Connection, *, email_id: uuid.UUID) -> None:
    """Mark the e-mail sent; a sensitive one's body (a password link) is erased."""
    await conn.execute(
        """UPDATE emails SET status = 'sent', sent_at = now(), attempts = attempts + 1,
                  body = CASE WHEN sensitive THEN $2 ELSE body END
            WHERE id = $1""",
        email_id,
        REDACTED_BODY,
    )


async def mark_failed(
    conn: Connection, *, email_id: uuid.UUID, error: str, retry_in_s: float
) -> None:
    await conn.execute(
        """UPDATE emails SET attempts = attempts + 1, last_error = $2,
                  next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1""",
        email_id,
        error[:2000],
        retry_in_s,
    )


async def emails_for(
    conn: Connection,
    *,
    recipient_id: uuid.UUID | None,
    org_id: uuid.UUID | None,
    ticket_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[Email]:
    """E-mails, newest first: to one recipient and/or in one organization, optionally one ticket."""
    rows = await conn.fetch(
        """SELECT * FROM emails
            WHERE ($1::uuid IS NULL OR recipient_id = $1) AND ($2::uuid IS NULL OR org_id = $2)
              AND ($3::uuid IS NULL OR ticket_id = $3)
            ORDER BY created_at DESC, id LIMIT $4 OFFSET $5""",
        recipient_id,
        org_id,
        ticket_id,
        limit,
        offset,
    )
    return [_email(r) for r in rows]
