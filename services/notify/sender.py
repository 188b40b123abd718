"""Sends recorded e-mails over SMTP and marks them sent (RELIABILITY.md promise 10).

A duplicate e-mail is possible only if the process dies between the SMTP server's acceptance and
the commit that marks the row sent.
"""

from __future__ import annotations

import asyncio
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

import asyncpg
import structlog

from services.notify import repository
from services.notify.repository import Email
from services.notify.settings import NotifySettings

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
        """Send due e-mails one by one, each marked in its own transaction; return how many the
        SMTP server accepted."""
        sent = 0
        for _ in range(self.batch_size):
            async with self._pool.acquire() as conn, conn.transaction():
                claimed = await repository.claim_due(conn, limit=1)
                if not claimed:
                    break
                email = claimed[0]
                try:
                    await asyncio.to_thread(self._send, email)
                except Exception as error:
                    delay = min(
                        self._settings.sender_max_backoff_s, 2.0 ** min(email.attempts + 1, 12)
                    )
                    log.warning(
                        "e-mail not sent, will retry",
                        to=email.recipient,
                        error=repr(error),
                        retry_in_s=delay,
                    )
                    await repository.mark_failed(
                        conn, email_id=email.id, error=repr(error), retry_in_s=delay
                    )
                    continue
                await repository.mark_sent(conn, email_id=email.id)
            sent += 1
            log.info("e-mail sent", to=email.recipient, ticket_id=str(email.ticket_id))
        return sent

    def _send(self, email: Email) -> None:
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = email.recipient
        message["Subject"] = " ".join(email.subject.split())  # a header is one line
        message["Message-ID"] = make_msgid(idstring=str(email.id))
        if email.ticket_id:
            message["X-Ticket-ID"] = str(email.ticket_id)
        message.set_content(email.body)
        smtp = smtplib.SMTP(
            self._settings.smtp_host,
            self._settings.smtp_port,
            timeout=self._settings.smtp_timeout_s,
        )
        try:
            smtp.send_message(message)
        finally:
            # Once send_message returned, the server has accepted the e-mail: a failing QUIT must
            # not make it "not sent", or it would be sent again.
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError) as error:
                log.info("SMTP QUIT failed", error=repr(error))
                smtp.close()
