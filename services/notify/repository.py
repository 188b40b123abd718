"""All SQL of the notification service."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.runtime.db import Connection, from_row
from services.runtime.tracing import traceparent_for


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
    html: str
    sensitive: bool = False


@dataclass(frozen=True)
class Email:
    id: uuid.UUID
    recipient: str
    subject: str
    body: str
    html: str
    ticket_id: uuid.UUID | None
    event_type: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    sensitive: bool = False
    traceparent: str | None = None


def _email(r: asyncpg.Record) -> Email:
    return from_row(Email, r, html=r["html_body"], traceparent=r.get("traceparent"))


async def record_intents(conn: Connection, *, intents: Sequence[EmailIntent]) -> int:
    """Record e-mails to send, in one statement; how many were new (one with the same dedupe
    key is not recorded again)."""
    if not intents:
        return 0
    rows = await conn.fetch(
        """INSERT INTO emails (id, dedupe_key, event_id, event_type, org_id, ticket_id,
                               recipient_id, recipient, language, subject, body, sensitive,
                               html_body, traceparent)
           SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::uuid[],
                                $6::uuid[], $7::uuid[], $8::text[], $9::text[], $10::text[],
                                $11::text[], $12::boolean[], $13::text[], $14::text[])
           ON CONFLICT (dedupe_key) DO NOTHING RETURNING id""",
        [uuid.uuid4() for _ in intents],
        [i.dedupe_key for i in intents],
        [i.event_id for i in intents],
        [i.event_type for i in intents],
        [i.org_id for i in intents],
        [i.ticket_id for i in intents],
        [i.recipient_id for i in intents],
        [i.recipient for i in intents],
        [i.language for i in intents],
        [i.subject for i in intents],
        [i.body for i in intents],
        [i.sensitive for i in intents],
        [i.html for i in intents],
        [traceparent_for(i.event_id) for i in intents],  # the handled event's trace
    )
    return len(rows)


async def claim_next(conn: Connection) -> Email | None:
    """Take the pending e-mail that has been due longest and record that it is being sent;
    other senders skip it. Commit before talking to the SMTP server. The order is the
    `emails_pending` index's, so a claim reads a few index entries however many e-mails wait
    (ordering by `created_at` sorted all of them)."""
    row = await conn.fetchrow(
        """UPDATE emails SET status = 'sending', sending_since = now()
            WHERE id = (SELECT id FROM emails
                         WHERE status = 'pending' AND next_attempt_at <= now()
                         ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING *"""
    )
    return _email(row) if row else None


async def release_stale_sending(conn: Connection, *, older_than_s: float) -> int:
    """Put back e-mails a sender claimed and never settled (it died while sending): they are
    tried again, and may reach the recipient twice if the server had accepted them."""
    result = await conn.execute(
        """UPDATE emails SET status = 'pending', next_attempt_at = now()
            WHERE status = 'sending' AND sending_since < now() - make_interval(secs => $1)""",
        older_than_s,
    )
    return int(result.split()[-1])


REDACTED_BODY = "(This e-mail carried a password link; its text is not kept after sending.)"


async def mark_sent(conn: Connection, *, email_id: uuid.UUID) -> None:
    """Mark the e-mail sent; a sensitive one's body (a password link) is erased."""
    await conn.execute(
        """UPDATE emails SET status = 'sent', sent_at = now(), attempts = attempts + 1,
                  body = CASE WHEN sensitive THEN $2 ELSE body END,
                  html_body = CASE WHEN sensitive THEN '' ELSE html_body END
            WHERE id = $1""",
        email_id,
        REDACTED_BODY,
    )


async def mark_failed(
    conn: Connection, *, email_id: uuid.UUID, error: str, retry_in_s: float
) -> None:
    """Record a failed attempt; the e-mail is tried again after `retry_in_s`."""
    await conn.execute(
        """UPDATE emails SET status = 'pending', attempts = attempts + 1, last_error = $2,
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
    after: tuple[datetime, uuid.UUID] | None,
    with_total: bool,
) -> tuple[list[Email], int | None]:
    """Up to `limit + 1` e-mails, newest first, after the sort key `after` (keyset, like every
    list's pages): to one recipient and/or in one organization, optionally about one ticket;
    with the count of the whole list if asked."""
    where = """($1::uuid IS NULL OR recipient_id = $1) AND ($2::uuid IS NULL OR org_id = $2)
               AND ($3::uuid IS NULL OR ticket_id = $3)"""
    args: list[object] = [recipient_id, org_id, ticket_id]
    total = (
        int(await conn.fetchval(f"SELECT count(*) FROM emails WHERE {where}", *args))
        if with_total
        else None
    )
    if after is not None:
        where += " AND (created_at, id) < ($4, $5)"
        args += list(after)
    rows = await conn.fetch(
        f"""SELECT * FROM emails WHERE {where}
            ORDER BY created_at DESC, id DESC LIMIT ${len(args) + 1}""",
        *args,
        limit + 1,
    )
    return [_email(r) for r in rows], total


async def mark_failed_for_good(conn: Connection, *, email_id: uuid.UUID, error: str) -> None:
    """Record that the e-mail cannot be delivered; it is not tried again (a sensitive body is
    erased all the same)."""
    await conn.execute(
        """UPDATE emails SET status = 'failed', failed_at = now(), attempts = attempts + 1,
                  last_error = $2,
                  body = CASE WHEN sensitive THEN $3 ELSE body END,
                  html_body = CASE WHEN sensitive THEN '' ELSE html_body END
            WHERE id = $1""",
        email_id,
        error[:2000],
        REDACTED_BODY,
    )


# --- recipients (from accounts.events) ---------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    user_id: uuid.UUID
    email: str
    language: str
    active: bool


async def remember_recipient(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    org_id: uuid.UUID,
    email: str,
    language: str,
    version: int,
) -> None:
    """Remember a new user (a repeated UserCreated changes nothing)."""
    await conn.execute(
        """INSERT INTO recipients (user_id, org_id, email, language, version)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (user_id) DO NOTHING""",
        user_id,
        org_id,
        email,
        language,
        version,
    )


async def update_recipient(
    conn: Connection,
    *,
    user_id: uuid.UUID,
    version: int,
    language: str | None = None,
    active: bool | None = None,
) -> bool:
    """Apply a change of language or active flag unless a newer one is recorded; False when
    older or unknown. One change of a user can publish several events with the same version
    (reactivated with a new language): each applies, as each sets its own column."""
    applied = await conn.fetchval(
        """UPDATE recipients SET language = coalesce($3, language), active = coalesce($4, active),
                  version = $2
            WHERE user_id = $1 AND version <= $2 RETURNING true""",
        user_id,
        version,
        language,
        active,
    )
    return bool(applied)


async def release_recipients(conn: Connection, *, org_id: uuid.UUID) -> list[Recipient]:
    """The active users of the organization who have not turned release e-mails off."""
    rows = await conn.fetch(
        """SELECT r.* FROM recipients r LEFT JOIN preferences p USING (user_id)
            WHERE r.org_id = $1 AND r.active AND coalesce(p.release_emails, true)
            ORDER BY r.email""",
        org_id,
    )
    return [Recipient(row["user_id"], row["email"], row["language"], row["active"]) for row in rows]


@dataclass(frozen=True)
class Preferences:
    release_emails: bool = True
    """E-mails about new releases of the programs the organization is licensed for."""


async def get_preferences(conn: Connection, *, user_id: uuid.UUID) -> Preferences:
    row = await conn.fetchrow("SELECT release_emails FROM preferences WHERE user_id = $1", user_id)
    return Preferences(row["release_emails"]) if row else Preferences()


async def set_preferences(
    conn: Connection, *, user_id: uuid.UUID, preferences: Preferences, at: datetime
) -> None:
    await conn.execute(
        """INSERT INTO preferences (user_id, release_emails, updated_at) VALUES ($1, $2, $3)
           ON CONFLICT (user_id) DO UPDATE SET release_emails = $2, updated_at = $3""",
        user_id,
        preferences.release_emails,
        at,
    )


async def get_recipients(
    conn: Connection, *, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Recipient]:
    """What notify knows of these users (those it has heard of)."""
    rows = await conn.fetch(
        "SELECT * FROM recipients WHERE user_id = ANY($1::uuid[])", list(user_ids)
    )
    return {
        row["user_id"]: Recipient(row["user_id"], row["email"], row["language"], row["active"])
        for row in rows
    }
