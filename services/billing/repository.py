"""All SQL of the billing service."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from contracts.common import Decision, DecisionStage, RuleHit
from services.billing import similarity
from services.billing.policy import (
    Arrangement,
    EarlierTicket,
    InputsHistory,
    Onboarding,
    PolicyInputs,
    Standing,
    TicketFacts,
    WorkFacts,
)
from services.runtime.db import Connection


class NotFoundError(LookupError):
    """No such ticket, or not visible to the caller's organization."""


@dataclass(frozen=True)
class BillingTicket:
    ticket_id: uuid.UUID
    org_id: uuid.UUID
    number: int
    subject: str
    body: str
    facts: TicketFacts

    @property
    def text(self) -> str:
        """What P-REPEAT compares: subject and description."""
        return f"{self.subject} {self.body}"


def _ticket(row: asyncpg.Record) -> BillingTicket:
    return BillingTicket(
        row["ticket_id"],
        row["org_id"],
        row["number"],
        row["subject"],
        row["body"],
        TicketFacts(
            channel=row["channel"],
            submitted_at=row["submitted_at"],
            requester_id=row["requester_id"],
            topic=row["topic"],
            program=row["program"],
        ),
    )


async def remember_tickets(conn: Connection, *, tickets: Sequence[BillingTicket]) -> None:
    """Store tickets as announced, with the bands P-REPEAT finds them by (a repeated
    announcement changes nothing)."""
    await conn.execute(
        """INSERT INTO tickets (ticket_id, org_id, number, requester_id, channel, topic, program,
                                subject, body, submitted_at, repeat_bands)
           SELECT q.ticket_id, q.org_id, q.number, q.requester_id, q.channel, q.topic, q.program,
                  q.subject, q.body, q.submitted_at,
                  array_remove(($11::bigint[])[q.n * $12 - $12 + 1 : q.n * $12], NULL)
             FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::uuid[], $5::text[],
                         $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[])
                  WITH ORDINALITY AS q(ticket_id, org_id, number, requester_id, channel, topic,
                                       program, subject, body, submitted_at, n)
           ON CONFLICT (ticket_id) DO NOTHING""",
        [t.ticket_id for t in tickets],
        [t.org_id for t in tickets],
        [t.number for t in tickets],
        [t.facts.requester_id for t in tickets],
        [t.facts.channel for t in tickets],
        [t.facts.topic for t in tickets],
        [t.facts.program for t in tickets],
        [t.subject for t in tickets],
        [t.body for t in tickets],
        [t.facts.submitted_at for t in tickets],
        _flat_bands(tickets),
        similarity.BANDS,
    )


def _flat_bands(tickets: Sequence[BillingTicket]) -> list[int | None]:
    """Each ticket's bands, `similarity.BANDS` a ticket (None where a text has none)."""
    flat: list[int | None] = []
    for ticket in tickets:
        flat.extend(similarity.text_bands(ticket.text) or (None,) * similarity.BANDS)
    return flat


async def lock_tickets(
    conn: Connection, *, ticket_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, BillingTicket]:
    """The known tickets among these, locked (in id order, so two transactions cannot lock the
    same ones in opposite orders) so their decisions are numbered one at a time."""
    rows = await conn.fetch(
        "SELECT * FROM tickets WHERE ticket_id = ANY($1::uuid[]) ORDER BY ticket_id FOR UPDATE",
        list(ticket_ids),
    )
    return {row["ticket_id"]: _ticket(row) for row in rows}


async def get_ticket(
    conn: Connection, *, ticket_id: uuid.UUID, org_id: uuid.UUID | None, for_update: bool = False
) -> BillingTicket:
    """A known ticket (locked when asked, so its decisions are numbered one at a time)."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT * FROM tickets WHERE ticket_id = $1 AND ($2::uuid IS NULL OR org_id = $2){lock}",
        ticket_id,
        org_id,
    )
    if row is None:
        raise NotFoundError(str(ticket_id))
    return _ticket(row)


async def record_resolution(
    conn: Connection, *, ticket_id: uuid.UUID, work: WorkFacts, source_event_id: uuid.UUID
) -> bool:
    """Store one resolution; False when this event was stored before."""
    inserted = await conn.fetchval(
        """INSERT INTO resolutions (source_event_id, ticket_id, resolved_at, minutes,
                                    remote_session, data_correction, training, doc_reference,
                                    other_remote_service)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (source_event_id) DO NOTHING RETURNING true""",
        source_event_id,
        ticket_id,
        work.resolved_at,
        work.minutes,
        work.remote_session,
        work.data_correction,
        work.training,
        work.doc_reference,
        work.other_remote_service,
    )
    await conn.execute(
        """WITH resolved AS (
             UPDATE tickets SET resolved = true WHERE ticket_id = $1 AND NOT resolved
             RETURNING ticket_id, org_id, submitted_at, repeat_bands)
           INSERT INTO repeat_bands (ticket_id, band, org_id, submitted_at)
           SELECT ticket_id, unnest(repeat_bands), org_id, submitted_at FROM resolved
           ON CONFLICT DO NOTHING""",
        ticket_id,
    )
    return bool(inserted)


async def work_on(conn: Connection, *, ticket_id: uuid.UUID) -> WorkFacts | None:
    """All work on the ticket so far: minutes add up over resolutions, the latest one's time,
    anything any resolution involved, and the latest documentation reference."""
    row = await conn.fetchrow(
        """SELECT max(resolved_at) AS resolved_at, sum(minutes)::int AS minutes,
                  bool_or(remote_session) AS remote_session,
                  bool_or(data_correction) AS data_correction, bool_or(training) AS training,
                  (array_agg(doc_reference ORDER BY resolved_at DESC)
                     FILTER (WHERE doc_reference IS NOT NULL))[1] AS doc_reference,
                  bool_or(other_remote_service) AS other_remote_service
             FROM resolutions WHERE ticket_id = $1""",
        ticket_id,
    )
    if row is None or row["resolved_at"] is None:
        return None
    return WorkFacts(
        resolved_at=row["resolved_at"],
        minutes=row["minutes"],
        remote_session=row["remote_session"],
        data_correction=row["data_correction"],
        training=row["training"],
        doc_reference=row["doc_reference"],
        other_remote_service=row["other_remote_service"],
    )


# --- policy inputs ------------------------------------------------------------------------------


async def record_standing(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    standing: Standing,
    source: str,
    recorded_at: datetime,
    source_event_id: uuid.UUID | None = None,
) -> None:
    """Append the organization's account standing (true from `standing.as_of`) to its history."""
    await conn.execute(
        """INSERT INTO standing_history (org_id, has_unpaid_obligations, as_of, recorded_at,
                                         source, source_event_id)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source_event_id) DO NOTHING""",
        org_id,
        standing.has_unpaid_obligations,
        standing.as_of,
        recorded_at,
        source,
        source_event_id,
    )


async def record_onboarding(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    record: Onboarding,
    as_of: datetime,
    source: str,
    recorded_at: datetime,
    source_event_id: uuid.UUID | None = None,
) -> None:
    """Append an onboarding record (true from `as_of`)."""
    await conn.execute(
        """INSERT INTO onboarding_records (org_id, user_id, program, kind, completed_on,
                                           organization_setup_done, as_of, recorded_at, source,
                                           source_event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (source_event_id) DO NOTHING""",
        org_id,
        record.user_id,
        record.program,
        record.kind,
        record.completed_on,
        record.organization_setup_done,
        as_of,
        recorded_at,
        source,
        source_event_id,
    )


async def record_arrangement(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    arrangement: Arrangement,
    note: str | None,
    recorded_by: uuid.UUID,
    recorded_at: datetime,
) -> None:
    """Record an arrangement for help outside working hours (agreed at `recorded_at`)."""
    await conn.execute(
        """INSERT INTO arrangements (org_id, valid_from, valid_until, agreed_by, note, recorded_by,
                                     recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        org_id,
        arrangement.valid_from,
        arrangement.valid_until,
        arrangement.agreed_by,
        note,
        recorded_by,
        recorded_at,
    )


async def inputs_histories(
    conn: Connection, *, org_ids: Sequence[uuid.UUID], until: datetime
) -> dict[uuid.UUID, InputsHistory]:
    """The organizations' inputs that became true by `until`, in arrival order (three
    statements however many organizations); `InputsHistory.in_force` picks what held when."""
    query = "SELECT * FROM {} WHERE org_id = ANY($1::uuid[]) AND {} <= $2 ORDER BY id"
    ids = list(org_ids)
    standing = await conn.fetch(query.format("standing_history", "as_of"), ids, until)
    onboarding = await conn.fetch(query.format("onboarding_records", "as_of"), ids, until)
    arrangements = await conn.fetch(query.format("arrangements", "recorded_at"), ids, until)
    found: dict[uuid.UUID, dict[str, list[Any]]] = {
        org_id: {"standing": [], "onboarding": [], "arrangements": []} for org_id in ids
    }
    for r in standing:
        found[r["org_id"]]["standing"].append(Standing(r["has_unpaid_obligations"], r["as_of"]))
    for r in onboarding:
        found[r["org_id"]]["onboarding"].append(
            (
                r["as_of"],
                Onboarding(
                    r["user_id"],
                    r["program"],
                    r["kind"],
                    r["completed_on"],
                    r["organization_setup_done"],
                ),
            )
        )
    for r in arrangements:
        found[r["org_id"]]["arrangements"].append(
            (r["recorded_at"], Arrangement(r["valid_from"], r["valid_until"], r["agreed_by"]))
        )
    return {
        org_id: InputsHistory(
            tuple(lists["standing"]), tuple(lists["onboarding"]), tuple(lists["arrangements"])
        )
        for org_id, lists in found.items()
    }


async def inputs_in_force(conn: Connection, *, org_id: uuid.UUID, at: datetime) -> PolicyInputs:
    """The organization's policy inputs that were true at `at` (`InputsHistory.in_force`)."""
    histories = await inputs_histories(conn, org_ids=[org_id], until=at)
    return histories[org_id].in_force(at)


async def inputs_history(conn: Connection, *, org_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every recorded input of the organization, for administrators: standing and onboarding by
    when they became true (`as_of`), newest first, each with its arrival (`recorded_at`)."""

    async def rows(query: str) -> list[dict[str, Any]]:
        return [dict(r) for r in await conn.fetch(query, org_id)]

    return {
        "standing": await rows(
            """SELECT has_unpaid_obligations, as_of, recorded_at, source FROM standing_history
                WHERE org_id = $1 ORDER BY as_of DESC, id DESC"""
        ),
        "onboarding": await rows(
            """SELECT user_id, program, kind, completed_on, organization_setup_done, as_of,
                      recorded_at, source FROM onboarding_records WHERE org_id = $1
                ORDER BY as_of DESC, id DESC"""
        ),
        "arrangements": await rows(
            """SELECT valid_from, valid_until, agreed_by, note, recorded_at, recorded_by
                 FROM arrangements WHERE org_id = $1 ORDER BY recorded_at DESC, id DESC"""
        ),
    }


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
        _flat_bands(tickets),
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


# --- decisions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredDecision:
    ticket_id: uuid.UUID
    stage: DecisionStage
    org_id: uuid.UUID
    decision: Decision
    reasons: tuple[RuleHit, ...]
    policy_version: str
    deferred_until: datetime | None
    decided_at: datetime
    version: int = 1
    inputs: dict[str, Any] | None = None
    overridden_by: uuid.UUID | None = None
    justification: str | None = None


async def next_decision_version(conn: Connection, *, ticket_id: uuid.UUID) -> int:
    """The version the ticket's next decision gets (call with the ticket row locked)."""
    current = await conn.fetchval(
        "SELECT coalesce(max(version), 0) FROM decisions WHERE ticket_id = $1", ticket_id
    )
    return int(current) + 1


async def insert_decisions(
    conn: Connection, *, decisions: Sequence[tuple[StoredDecision, uuid.UUID]]
) -> set[uuid.UUID]:
    """Store decisions, each with the event it was made from; the source event ids of those
    stored now (one made from the same event before is not stored again)."""
    rows = await conn.fetch(
        """INSERT INTO decisions (ticket_id, stage, org_id, decision, reasons, policy_version,
                                  deferred_until, decided_at, source_event_id, version, inputs,
                                  overridden_by, justification)
           SELECT d.ticket_id, d.stage, d.org_id, d.decision, d.reasons::jsonb, d.policy_version,
                  d.deferred_until, d.decided_at, d.source_event_id, d.version, d.inputs::jsonb,
                  d.overridden_by, d.justification
             FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                         $7::timestamptz[], $8::timestamptz[], $9::uuid[], $10::int[],
                         $11::text[], $12::uuid[], $13::text[])
                  AS d(ticket_id, stage, org_id, decision, reasons, policy_version,
                       deferred_until, decided_at, source_event_id, version, inputs,
                       overridden_by, justification)
           ON CONFLICT DO NOTHING RETURNING source_event_id""",
        [d.ticket_id for d, _ in decisions],
        [d.stage for d, _ in decisions],
        [d.org_id for d, _ in decisions],
        [d.decision for d, _ in decisions],
        [json.dumps([r.model_dump(mode="json") for r in d.reasons]) for d, _ in decisions],
        [d.policy_version for d, _ in decisions],
        [d.deferred_until for d, _ in decisions],
        [d.decided_at for d, _ in decisions],
        [source for _, source in decisions],
        [d.version for d, _ in decisions],
        [json.dumps(d.inputs or {}, default=str) for d, _ in decisions],
        [d.overridden_by for d, _ in decisions],
        [d.justification for d, _ in decisions],
    )
    return {row["source_event_id"] for row in rows}


async def insert_decision(
    conn: Connection, *, decision: StoredDecision, source_event_id: uuid.UUID
) -> bool:
    """Store a decision; False when one was made from this event before."""
    return bool(await insert_decisions(conn, decisions=[(decision, source_event_id)]))


def _decision(r: asyncpg.Record) -> StoredDecision:
    return StoredDecision(
        ticket_id=r["ticket_id"],
        stage=r["stage"],
        org_id=r["org_id"],
        decision=r["decision"],
        reasons=tuple(RuleHit(**x) for x in json.loads(r["reasons"])),
        policy_version=r["policy_version"],
        deferred_until=r["deferred_until"],
        decided_at=r["decided_at"],
        version=r["version"],
        inputs=json.loads(r["inputs"]),
        overridden_by=r["overridden_by"],
        justification=r["justification"],
    )


async def decided(conn: Connection, *, ticket_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """The tickets among these that have a decision already."""
    rows = await conn.fetch(
        "SELECT DISTINCT ticket_id FROM decisions WHERE ticket_id = ANY($1::uuid[])",
        list(ticket_ids),
    )
    return {row["ticket_id"] for row in rows}


async def decisions_for_ticket(
    conn: Connection, *, ticket_id: uuid.UUID, org_id: uuid.UUID | None
) -> list[StoredDecision]:
    """The decisions about one ticket, oldest first, within one organization if given."""
    rows = await conn.fetch(
        """SELECT * FROM decisions WHERE ticket_id = $1 AND ($2::uuid IS NULL OR org_id = $2)
           ORDER BY version""",
        ticket_id,
        org_id,
    )
    return [_decision(r) for r in rows]


# --- statements ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementRow:
    ticket_id: uuid.UUID
    number: int
    subject: str
    resolved_at: datetime
    minutes: int
    reasons: tuple[RuleHit, ...]
    policy_version: str


async def paid_in_month(
    conn: Connection, *, org_id: uuid.UUID, start: datetime, end: datetime
) -> list[StatementRow]:
    """Tickets of the organization last resolved in [start, end) whose current decision is
    paid, with all minutes spent on them; by resolution time."""
    rows = await conn.fetch(
        """WITH latest AS (
               SELECT DISTINCT ON (ticket_id) * FROM decisions
                WHERE org_id = $1 ORDER BY ticket_id, version DESC),
           work AS (
               SELECT ticket_id, max(resolved_at) AS resolved_at, sum(minutes)::int AS minutes
                 FROM resolutions GROUP BY ticket_id)
           SELECT t.ticket_id, t.number, t.subject, w.resolved_at, w.minutes, l.reasons,
                  l.policy_version
             FROM latest l JOIN tickets t USING (ticket_id) JOIN work w USING (ticket_id)
            WHERE l.decision = 'paid' AND l.stage = 'final'
              AND w.resolved_at >= $2 AND w.resolved_at < $3
            ORDER BY w.resolved_at, t.number""",
        org_id,
        start,
        end,
    )
    return [
        StatementRow(
            r["ticket_id"],
            r["number"],
            r["subject"],
            r["resolved_at"],
            r["minutes"],
            tuple(RuleHit(**x) for x in json.loads(r["reasons"])),
            r["policy_version"],
        )
        for r in rows
    ]


async def mark_statement_issued(
    conn: Connection, *, org_id: uuid.UUID, month: date, issued_by: uuid.UUID, issued_at: datetime
) -> bool:
    """Record that the month's statement was issued; False when it was before."""
    inserted = await conn.fetchval(
        """INSERT INTO statements_issued (org_id, month, issued_by, issued_at)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true""",
        org_id,
        month,
        issued_by,
        issued_at,
    )
    return bool(inserted)
