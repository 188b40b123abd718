"""Pruning the inbox: the (consumer, event) rows that let a consumer recognise a redelivered
event are deleted once older than `INBOX_RETENTION_DAYS` (45 by default).

Why that is safe, and why 45 days (docs/reliability.md, "How long the inbox remembers"): Kafka
redelivers an event to a group only while the group's committed offset has not passed it,
seconds or minutes after the first delivery; the relay re-sends an event only when it could not
record that it had sent it, at once. Older records come back only when a group reads a topic
again from an earlier offset. The topics keep records 30 days (a segment's records up to about 7
days more), so within 45 days every such record still finds its inbox row. Only
`accounts.events` is kept for ever, and each of its handlers applies an event once by its own
rule (versions, `ON CONFLICT DO NOTHING`), with or without the inbox.
"""

from __future__ import annotations

import asyncpg
import structlog

log = structlog.get_logger(__name__)

PRUNE_BATCH = 5_000


async def prune_inbox(pool: asyncpg.Pool, *, retention_days: int) -> int:
    """Delete up to `PRUNE_BATCH` inbox rows older than the retention; the number deleted."""
    status = await pool.execute(
        """DELETE FROM inbox WHERE ctid = ANY (ARRAY(
               SELECT ctid FROM inbox
                WHERE processed_at < now() - make_interval(days => $1)
                LIMIT $2))""",
        retention_days,
        PRUNE_BATCH,
    )
    deleted = int(status.split()[-1])
    if deleted:
        log.info("inbox rows past their retention deleted", count=deleted)
    return deleted
