"""Sends recorded e-mails over SMTP and marks them sent.

Each e-mail is first claimed (`sending`, committed), then handed to the SMTP server outside any
transaction, then its outcome is recorded; while the database cannot be reached the outcome is
kept in memory and recorded once it can. So a database outage never sends an e-mail twice; a
duplicate is possible only if the process dies between the SMTP server's acceptance and that
record (the e-mail then stays `sending` until `SENDER_LEASE_S` has passed, and is sent again).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import time
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.utils import make_msgid
from functools import partial

import asyncpg
import structlog
from opentelemetry.trace import SpanKind

from services.notify import repository
from services.notify.metrics import EMAILS_SEND_FAILURES, EMAILS_SENT
from services.notify.repository import Email
from services.notify.settings import NotifySettings
from services.runtime.db import UNAVAILABLE_ERRORS, Connection
from services.runtime.tracing import span

log = structlog.get_logger(__name__)


class SmtpSender:
    """Claims due e-mails, sends each, records the outcome (run by a `PeriodicWorker`)."""

    def __init__(
        self, pool: asyncpg.Pool, settings: NotifySettings, *, batch_size: int = 20
    ) -> None:
        self._pool = pool
        self._settings = settings
        self.batch_size = batch_size

    async def send_due(self) -> int:
        """Send due e-mails one by one over one SMTP connection (opened for the first, opened
        again after a failure); return how many the SMTP server accepted."""
        async with self._pool.acquire() as conn:
            released = await repository.release_stale_sending(
                conn, older_than_s=self._settings.sender_lease_s
            )
        if released:
            log.warning("e-mails left sending by a stopped sender are tried again", count=released)
        sent = 0
        session = _Session(self._connect)
        try:
            for _ in range(self.batch_size):
                async with self._pool.acquire() as conn:
                    email = await repository.claim_next(conn)
                if email is None:
                    break
                try:
                    with span(
                        "smtp send", email.traceparent, kind=SpanKind.CLIENT, event=email.event_type
                    ):
                        await asyncio.to_thread(session.send, self._message(email))
                except Exception as error:
                    await asyncio.to_thread(session.drop)
                    await self._settle(
                        email, partial(self._record_failure, email=email, error=error)
                    )
                    continue
                EMAILS_SENT.inc()
                await self._settle(email, partial(repository.mark_sent, email_id=email.id))
                sent += 1
                log.debug("e-mail sent", to=email.recipient, ticket_id=str(email.ticket_id))
        finally:
            await asyncio.to_thread(session.close)
        if sent:
            log.info("e-mails sent", sent=sent)
        return sent

    async def _settle(self, email: Email, record: Callable[[Connection], Awaitable[None]]) -> None:
        """Record an e-mail's outcome, waiting for the database as long as it takes (up to
        `SENDER_SETTLE_S`): the SMTP server's answer is known only here, in memory."""
        deadline = time.monotonic() + self._settings.sender_settle_s
        delay = 0.5
        while True:
            try:
                async with self._pool.acquire() as conn, conn.transaction():
                    await record(conn)
                return
            except UNAVAILABLE_ERRORS as error:
                if time.monotonic() + delay > deadline:
                    log.error(
                        "the outcome of an e-mail could not be recorded; it stays sending",
                        email_id=str(email.id),
                        error=repr(error),
                    )
                    raise
                log.warning(
                    "database unavailable; keeping the e-mail's outcome to record it later",
                    email_id=str(email.id),
                    error=repr(error),
                    retry_in_s=delay,
                )
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)

    async def _record_failure(self, conn: Connection, email: Email, error: Exception) -> None:
        attempts = email.attempts + 1
        if is_permanent(error) or attempts >= self._settings.sender_max_attempts:
            log.error(
                "e-mail cannot be delivered; not trying again",
                to=email.recipient,
                email_id=str(email.id),
                attempts=attempts,
                error=repr(error),
            )
            await repository.mark_failed_for_good(conn, email_id=email.id, error=repr(error))
            EMAILS_SEND_FAILURES.labels("permanent").inc()
            return
        delay = min(self._settings.sender_max_backoff_s, 2.0 ** min(attempts, 12))
        log.warning(
            "e-mail not sent, will retry",
            to=email.recipient,
            attempts=attempts,
            error=repr(error),
            retry_in_s=delay,
        )
        await repository.mark_failed(conn, email_id=email.id, error=repr(error), retry_in_s=delay)
        EMAILS_SEND_FAILURES.labels("retry").inc()

    def _connect(self) -> smtplib.SMTP:
        settings = self._settings
        if settings.smtp_security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host,
                settings.smtp_port,
                timeout=settings.smtp_timeout_s,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
            )
            if settings.smtp_security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_username, password)
        return smtp

    def _message(self, email: Email) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = email.recipient
        message["Subject"] = " ".join(email.subject.split())  # a header is one line
        message["Message-ID"] = make_msgid(idstring=str(email.id))
        if email.ticket_id:
            message["X-Ticket-ID"] = str(email.ticket_id)
        message.set_content(email.body)
        if email.html:
            message.add_alternative(email.html, subtype="html")
        return message


class _Session:
    """One SMTP connection for a sweep, opened when the first e-mail goes out. After a failed
    send it is dropped, so the next e-mail starts on a fresh connection."""

    def __init__(self, connect: Callable[[], smtplib.SMTP]) -> None:
        self._connect = connect
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: EmailMessage) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        self._smtp.send_message(message)

    def drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def close(self) -> None:
        """QUIT at the end of the sweep. Every e-mail before it was accepted already: a failing
        QUIT must not make any of them "not sent", or it would be sent again."""
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError) as error:
            log.info("SMTP QUIT failed", error=repr(error))
            self._smtp.close()
        self._smtp = None


def is_permanent(error: Exception) -> bool:
    """True when the server refused this e-mail for good (5xx for its recipient or content).
    Connection problems, 4xx answers and our own configuration (sign-in, sender) are retried."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPDataError):
        return error.smtp_code >= 500
    return False
