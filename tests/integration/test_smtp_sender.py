"""The SMTP sender against a real (local aiosmtpd) server: both parts are sent, a recipient the
server refuses for good is recorded as failed and not retried, a server that is down is retried."""

from __future__ import annotations

import smtplib
import uuid
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller

from devstack.infra import free_port
from services.notify import repository
from services.notify.sender import SmtpSender, is_permanent
from services.notify.settings import NotifySettings
from tests.support import migrated

REFUSED = "ni-je@zavrnjeno.example"


class _Server:
    """Accepts every recipient except REFUSED (550, as for an unknown mailbox)."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
async def notify_pool(scratch_pool: asyncpg.Pool) -> asyncpg.Pool:
    return await migrated(scratch_pool, "notify")


async def _intent(pool: asyncpg.Pool, recipient: str) -> None:
    async with pool.acquire() as conn:
        await repository.record_intents(
            conn,
            intents=[
                repository.EmailIntent(
                    dedupe_key=f"{uuid.uuid4()}:{recipient}",
                    event_id=uuid.uuid4(),
                    event_type="TicketAccepted",
                    org_id=uuid.uuid4(),
                    ticket_id=uuid.uuid4(),
                    recipient_id=uuid.uuid4(),
                    recipient=recipient,
                    language="sl",
                    subject="Zahtevek št. 7 je v reševanju: Tiskanje",
                    body="Pozdravljeni,\n\nvaš zahtevek je v reševanju.\n",
                    html="<p>Pozdravljeni,</p><p>vaš zahtevek je v reševanju.</p>",
                )
            ],
        )


async def _statuses(pool: asyncpg.Pool) -> dict[str, tuple[str, int]]:
    rows = await pool.fetch("SELECT recipient, status, attempts FROM emails")
    return {r["recipient"]: (r["status"], r["attempts"]) for r in rows}


def _settings(port: int) -> NotifySettings:
    return NotifySettings(
        database_url="postgresql://unused/unused",
        smtp_port=port,
        smtp_timeout_s=2,
        # Long enough that a retry never falls due inside the same sweep on a busy machine; the
        # tests make a retry due themselves (UPDATE ... next_attempt_at = now()).
        sender_max_backoff_s=60,
    )


async def test_both_parts_are_sent_and_a_refused_recipient_fails_for_good(
    notify_pool: asyncpg.Pool,
) -> None:
    server = _Server()
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await _intent(notify_pool, "ana@stranka.example")
        await _intent(notify_pool, REFUSED)
        sender = SmtpSender(notify_pool, _settings(port))

        assert await sender.send_due() == 1
        assert await sender.send_due() == 0  # the refused one is not tried again
    finally:
        controller.stop()

    assert await _statuses(notify_pool) == {
        "ana@stranka.example": ("sent", 1),
        REFUSED: ("failed", 1),
    }
    [message] = server.received
    assert message.get_body(("plain",)).get_content().startswith("Pozdravljeni,")  # type: ignore[union-attr]
    assert "<p>Pozdravljeni,</p>" in message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert message["Subject"] == "Zahtevek št. 7 je v reševanju: Tiskanje"


async def test_a_server_that_is_down_is_retried_and_the_email_sent_once_it_is_up(
    notify_pool: asyncpg.Pool,
) -> None:
    port = free_port()
    await _intent(notify_pool, "ana@stranka.example")
    sender = SmtpSender(notify_pool, _settings(port))

    assert await sender.send_due() == 0  # nobody listens on the port
    assert await _statuses(notify_pool) == {"ana@stranka.example": ("pending", 1)}

    server = _Server()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await notify_pool.execute("UPDATE emails SET next_attempt_at = now()")  # the backoff ends
        assert await sender.send_due() == 1
    finally:
        controller.stop()
    assert await _statuses(notify_pool) == {"ana@stranka.example": ("sent", 2)}
    assert len(server.received) == 1


async def test_after_the_last_attempt_an_email_is_recorded_as_failed(
    notify_pool: asyncpg.Pool,
) -> None:
    await _intent(notify_pool, "ana@stranka.example")
    settings = _settings(free_port()).model_copy(update={"sender_max_attempts": 2})
    sender = SmtpSender(notify_pool, settings)

    await sender.send_due()
    await notify_pool.execute("UPDATE emails SET next_attempt_at = now()")
    await sender.send_due()

    assert await _statuses(notify_pool) == {"ana@stranka.example": ("failed", 2)}


async def test_an_email_left_sending_by_a_dead_sender_is_sent_after_the_lease_only(
    notify_pool: asyncpg.Pool,
) -> None:
    await _intent(notify_pool, "ana@stranka.example")
    async with notify_pool.acquire() as conn:
        claimed = await repository.claim_next(conn)  # a sender claims it, then dies
    assert claimed is not None
    server = _Server()
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        sender = SmtpSender(notify_pool, _settings(port))
        assert await sender.send_due() == 0  # another sender leaves it alone within the lease
        assert await _statuses(notify_pool) == {"ana@stranka.example": ("sending", 0)}
        await notify_pool.execute("UPDATE emails SET sending_since = now() - interval '1 day'")
        assert await sender.send_due() == 1
    finally:
        controller.stop()
    assert await _statuses(notify_pool) == {"ana@stranka.example": ("sent", 1)}
    assert len(server.received) == 1


def test_only_refusals_of_the_recipient_or_content_are_permanent() -> None:
    assert is_permanent(smtplib.SMTPRecipientsRefused({"a@b.si": (550, b"no such user")}))
    assert not is_permanent(smtplib.SMTPRecipientsRefused({"a@b.si": (451, b"try later")}))
    assert is_permanent(smtplib.SMTPDataError(554, b"rejected"))
    assert not is_permanent(smtplib.SMTPDataError(452, b"insufficient storage"))
    assert not is_permanent(smtplib.SMTPAuthenticationError(535, b"bad credentials"))
    assert not is_permanent(ConnectionRefusedError())
