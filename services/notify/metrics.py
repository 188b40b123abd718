"""The notification service's own metrics (docs/metrics.md): the e-mail queue."""

from __future__ import annotations

import asyncpg
from prometheus_client import Counter, Gauge

from services.runtime.metrics import NAMESPACE

EMAILS_SENT = Counter("emails_sent", "E-mails the SMTP server accepted.", namespace=NAMESPACE)
EMAILS_SEND_FAILURES = Counter(
    "emails_send_failures",
    "Failed attempts to send an e-mail, by whether it will be tried again (retry) or not "
    "(permanent: refused for good, or out of attempts).",
    ["kind"],
    namespace=NAMESPACE,
)
EMAILS_PENDING = Gauge(
    "emails_pending",
    "E-mails waiting to be sent (pending or being sent).",
    namespace=NAMESPACE,
)
EMAILS_OLDEST_PENDING_AGE = Gauge(
    "emails_oldest_pending_age_seconds",
    "Age of the oldest e-mail waiting to be sent (0 when none waits).",
    namespace=NAMESPACE,
)


async def refresh_emails(pool: asyncpg.Pool) -> None:
    """The e-mail queue's gauges in one query over the e-mails waiting (the partial indexes on
    pending and sending e-mails; sent and failed ones are counted as they happen)."""
    async with pool.acquire(timeout=2) as conn:
        row = await conn.fetchrow(
            """SELECT count(*) AS pending,
                      coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest_s
                 FROM emails WHERE status IN ('pending', 'sending')""",
            timeout=5,
        )
    assert row is not None
    EMAILS_PENDING.set(row["pending"])
    EMAILS_OLDEST_PENDING_AGE.set(float(row["oldest_s"]))
