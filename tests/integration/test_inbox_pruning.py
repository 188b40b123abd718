"""The inbox forgets events older than its retention, and only those
(services/runtime/inbox.py; docs/reliability.md, "How long the inbox remembers")."""

from __future__ import annotations

import asyncpg

from services.runtime import inbox
from tests.support import migrated


async def test_rows_past_the_retention_are_deleted_in_batches(
    scratch_pool: asyncpg.Pool, monkeypatch
) -> None:
    await migrated(scratch_pool)
    await scratch_pool.execute(
        """INSERT INTO inbox (consumer, event_id, event_type, processed_at)
           SELECT 'billing', gen_random_uuid(), 'TicketCreated',
                  now() - make_interval(days => d) + interval '12 hours'
             FROM generate_series(1, 60) AS d"""
    )
    kept = {
        r["event_id"]
        for r in await scratch_pool.fetch(
            "SELECT event_id FROM inbox WHERE processed_at > now() - interval '45 days'"
        )
    }
    monkeypatch.setattr(inbox, "PRUNE_BATCH", 10)

    first = await inbox.prune_inbox(scratch_pool, retention_days=45)
    second = await inbox.prune_inbox(scratch_pool, retention_days=45)
    last = await inbox.prune_inbox(scratch_pool, retention_days=45)

    assert (first, second, last) == (10, 5, 0)  # 45.5 to 59.5 days old
    left = {r["event_id"] for r in await scratch_pool.fetch("SELECT event_id FROM inbox")}
    assert left == kept and len(kept) == 45
