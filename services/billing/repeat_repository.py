"""The SQL of P-REPEAT: the earlier, resolved tickets of an organization whose text is alike
(table `repeat_bands`; services/billing/similarity.py computes the bands and the measure)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from services.billing import similarity
from services.billing.policy import (
    EarlierTicket,
)
from services.billing.repository import BillingTicket, flat_bands
from services.runtime.db import Connection


async def most_similar_earlier_many(
    conn: Connection, *, tickets: Sequence[BillingTicket], threshold: float
) -> dict[uuid.UUID, EarlierTicket]:
    """P-REPEAT, for each ticket: an earlier, resolved ticket of the same organization whose
    text is at least `threshold` similar (`similarity.similarity`, pg_trgm's measure of subject
    and description), the requester's own first, then the most similar. The candidates are
    the organization's most recent earlier tickets that share a band with the ticket
    (`REPEAT_PER_BAND` per band, the `REPEAT_CANDIDATES` sharing the most bands), so the cost is
    a fixed number of index probes however long the history (docs/decisions.md, "P-REPEAT at
    scale"); one statement for up to `REPEAT_CHUNK` tickets."""
    found: dict[uuid.UUID, EarlierTicket] = {}
    for start in range(0, len(tickets), REPEAT_CHUNK):
        found.update(await _most_similar(conn, tickets[start : start + REPEAT_CHUNK], threshold))
    return found


REPEAT_CHUNK = 64
REPEAT_PER_BAND = 2
REPEAT_CANDIDATES = 6


async def _most_similar(
    conn: Connection, tickets: Sequence[BillingTicket], threshold: float
) -> dict[uuid.UUID, EarlierTicket]:
    rows = await conn.fetch(
        """SELECT q.n AS asked, t.ticket_id, t.number, t.subject, t.body, t.requester_id
             FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[])
                  WITH ORDINALITY AS q(ticket_id, org_id, submitted_at, n)
             CROSS JOIN LATERAL (
               SELECT c.ticket_id, count(*) AS shared, max(c.submitted_at) AS latest
                 FROM unnest(($4::bigint[])[q.n * $5 - $5 + 1 : q.n * $5]) AS b(band)
                 CROSS JOIN LATERAL (
                   SELECT r.ticket_id, r.submitted_at FROM repeat_bands r
                    WHERE r.org_id = q.org_id AND r.band = b.band
                      AND r.submitted_at < q.submitted_at
                    ORDER BY r.submitted_at DESC LIMIT $6) c
                WHERE c.ticket_id <> q.ticket_id
                GROUP BY c.ticket_id
                ORDER BY shared DESC, latest DESC
                LIMIT $7) c
             JOIN tickets t ON t.ticket_id = c.ticket_id""",
        [t.ticket_id for t in tickets],
        [t.org_id for t in tickets],
        [t.facts.submitted_at for t in tickets],
        flat_bands(tickets),
        similarity.BANDS,
        REPEAT_PER_BAND,
        REPEAT_CANDIDATES,
    )
    best: dict[uuid.UUID, EarlierTicket] = {}
    for row in rows:
        asked = tickets[row["asked"] - 1]
        score = similarity.similarity(
            similarity.trigrams(asked.text), similarity.trigrams(f"{row['subject']} {row['body']}")
        )
        if score < threshold:
            continue
        candidate = EarlierTicket(
            row["ticket_id"],
            row["number"],
            row["subject"],
            score,
            row["requester_id"] == asked.facts.requester_id,
        )
        held = best.get(asked.ticket_id)
        if held is None or _preferred(candidate) > _preferred(held):
            best[asked.ticket_id] = candidate
    return best


def _preferred(earlier: EarlierTicket) -> tuple[bool, float]:
    return earlier.same_requester, earlier.similarity


async def fill_missing_bands(conn: Connection, *, limit: int) -> int:
    """Compute the bands of up to `limit` tickets remembered before they were kept (migration
    005), and index the resolved ones for P-REPEAT; the number of tickets filled."""
    rows = await conn.fetch(
        """SELECT ticket_id, subject, body FROM tickets WHERE repeat_bands IS NULL
            LIMIT $1 FOR UPDATE SKIP LOCKED""",
        limit,
    )
    if not rows:
        return 0
    flat: list[int | None] = []
    for row in rows:
        found = similarity.text_bands(f"{row['subject']} {row['body']}")
        flat.extend(found or (None,) * similarity.BANDS)
    await conn.execute(
        """WITH filled AS (
             UPDATE tickets t
                SET repeat_bands = array_remove(($2::bigint[])[q.n * $3 - $3 + 1 : q.n * $3], NULL)
               FROM unnest($1::uuid[]) WITH ORDINALITY AS q(ticket_id, n)
              WHERE t.ticket_id = q.ticket_id
             RETURNING t.ticket_id, t.org_id, t.submitted_at, t.resolved, t.repeat_bands)
           INSERT INTO repeat_bands (ticket_id, band, org_id, submitted_at)
           SELECT ticket_id, unnest(repeat_bands), org_id, submitted_at FROM filled WHERE resolved
           ON CONFLICT DO NOTHING""",
        [row["ticket_id"] for row in rows],
        flat,
        similarity.BANDS,
    )
    return len(rows)


async def most_similar_earlier(
    conn: Connection, *, ticket: BillingTicket, threshold: float
) -> EarlierTicket | None:
    """P-REPEAT for one ticket (`most_similar_earlier_many`)."""
    found = await most_similar_earlier_many(conn, tickets=[ticket], threshold=threshold)
    return found.get(ticket.ticket_id)
