"""The SQL of the ticket aggregate: tickets, their transitions and messages, the waiting list.
The archive and the directory have their own modules (archive_repository, directory_repository).

Longer than most modules (~460 lines) on purpose: every query here reads or writes the one
`tickets` row shape (`TICKET_COLUMNS`, `_ticket`, `save_tickets`), and splitting them would
spread that shape over several files."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from contracts.common import Person, RuleHit, TicketStatus, Topic
from services.runtime.db import Connection, from_row
from services.tickets.domain import (
    QUEUE_COUNT_LIMIT,
    Message,
    NewTicket,
    QueuePlace,
    Resolution,
    Ticket,
    Transition,
)


class NotFoundError(LookupError):
    """No such ticket (or not visible to the caller's organization)."""


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _person(data: str | None) -> Person | None:
    return Person.model_validate_json(data) if data else None


def _resolution(data: str | None) -> Resolution | None:
    return Resolution(**json.loads(data)) if data else None


TICKET_COLUMNS = """
    id, number, org_id, requester_id, requester_email, requester_name, requester_language,
    channel, topic, subject, body, program, status, submitted_at, recorded_by, version,
    legacy_reference, assignee, accepted_at, resolution, resolved_at, resolved_by, closed_at,
    refused_at, reopen_count, decision, decision_stage, decision_version, decision_reasons,
    policy_version, deferred_until, decided_at
"""
"""What `_ticket` reads: the generated `search_text`, as long as the texts, stays in the table."""


def _ticket(row: asyncpg.Record) -> Ticket:
    return from_row(
        Ticket,
        row,
        requester=Person(
            user_id=row["requester_id"],
            email=row["requester_email"],
            display_name=row["requester_name"],
            language=row["requester_language"],
        ),
        assignee=_person(row["assignee"]),
        resolution=_resolution(row["resolution"]),
        decision_reasons=tuple(RuleHit(**r) for r in json.loads(row["decision_reasons"])),
    )


async def insert_ticket(conn: Connection, *, new: NewTicket) -> Ticket:
    """Store a new ticket and return it with its number."""
    row = await conn.fetchrow(
        f"""INSERT INTO tickets (id, org_id, requester_id, requester_email, requester_name,
                                requester_language, channel, subject, body, program,
                                submitted_at, recorded_by, topic, legacy_reference)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
           RETURNING {TICKET_COLUMNS}""",
        new.id,
        new.org_id,
        new.requester.user_id,
        new.requester.email,
        new.requester.display_name,
        new.requester.language,
        new.channel,
        new.subject,
        new.body,
        new.program,
        new.submitted_at,
        new.recorded_by,
        new.topic,
        new.legacy_reference,
    )
    assert row is not None
    return _ticket(row)


async def get_ticket(
    conn: Connection,
    *,
    ticket_id: uuid.UUID,
    org_id: uuid.UUID | None,
    for_update: bool = False,
) -> Ticket:
    """Fetch a ticket; `org_id` (None only for vendor staff) limits it to one organization."""
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"""SELECT {TICKET_COLUMNS} FROM tickets
             WHERE id = $1 AND ($2::uuid IS NULL OR org_id = $2){lock}""",
        ticket_id,
        org_id,
    )
    if row is None:
        raise NotFoundError(str(ticket_id))
    return _ticket(row)


@dataclass(frozen=True)
class TicketFilter:
    """What a ticket list is narrowed to; None means any."""

    status: TicketStatus | None = None
    program: str | None = None
    topic: Topic | None = None
    text: str | None = None


def like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _list_conditions(org_id: uuid.UUID | None, filters: TicketFilter) -> tuple[str, list[object]]:
    """The WHERE clause of a ticket list with only the filters given, so the planner can use
    the index that fits (organization + date, organization + status + date, trigram text)."""
    conditions: list[str] = []
    args: list[object] = []

    def add(sql: str, value: object) -> None:
        args.append(value)
        conditions.append(sql.replace("?", f"${len(args)}"))

    if org_id is not None:
        add("org_id = ?", org_id)
    if filters.status is not None:
        add("status = ?", filters.status)
    if filters.program is not None:
        add("lower(program) = lower(?)", filters.program)
    if filters.topic is not None:
        add("topic = ?", filters.topic)
    for word in (filters.text or "").split():
        add("search_text LIKE search_form(?)", like_pattern(word))
    return " AND ".join(conditions) or "true", args


async def list_tickets(
    conn: Connection,
    *,
    org_id: uuid.UUID | None,
    filters: TicketFilter,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    with_total: bool,
) -> tuple[list[Ticket], int | None]:
    """Up to `limit + 1` tickets, newest first, after the sort key `after` (keyset: read along
    the index from there, nothing skipped); with the count of the whole list if asked, which is
    the only part whose cost grows with the list. Text matches when every word of it appears
    in the subject or the description."""
    where, args = _list_conditions(org_id, filters)
    count = f"SELECT count(*) FROM tickets WHERE {where}"
    n = len(args)
    if after is not None:
        where += f" AND (submitted_at, id) < (${n + 1}, ${n + 2})"
        n += 2
    query = f"""SELECT {TICKET_COLUMNS} FROM tickets WHERE {where}
                ORDER BY submitted_at DESC, id DESC LIMIT ${n + 1}"""
    page_args = [*args, *(after or ()), limit + 1]
    async with conn.transaction() if filters.text else contextlib.nullcontext():
        if filters.text:
            # A search is planned for its own words: the cached generic plan cannot know how
            # common they are, and walking the date index suits common words (it stops at the
            # page's end) while the trigram index suits rare ones (docs/decisions.md).
            await conn.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        total = int(await conn.fetchval(count, *args)) if with_total else None
        rows = await conn.fetch(query, *page_args)
    return [_ticket(r) for r in rows], total


async def lock_tickets(
    conn: Connection, *, ticket_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Ticket]:
    """The tickets among these that exist, locked for a change (in id order, so two
    transactions cannot lock the same tickets in opposite orders)."""
    rows = await conn.fetch(
        f"SELECT {TICKET_COLUMNS} FROM tickets WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        list(ticket_ids),
    )
    return {row["id"]: _ticket(row) for row in rows}


async def save_tickets(conn: Connection, *, tickets: Sequence[Ticket]) -> None:
    """Persist every field a life-cycle step or a decision may change, for each ticket (one
    statement for all)."""
    await conn.execute(
        """UPDATE tickets t
              SET status = u.status, version = u.version, assignee = u.assignee::jsonb,
                  accepted_at = u.accepted_at, resolution = u.resolution::jsonb,
                  resolved_at = u.resolved_at, resolved_by = u.resolved_by,
                  closed_at = u.closed_at, refused_at = u.refused_at,
                  reopen_count = u.reopen_count, decision = u.decision,
                  decision_stage = u.decision_stage, decision_version = u.decision_version,
                  decision_reasons = u.decision_reasons::jsonb,
                  policy_version = u.policy_version, deferred_until = u.deferred_until,
                  decided_at = u.decided_at, updated_at = now()
             FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::timestamptz[],
                         $6::text[], $7::timestamptz[], $8::uuid[], $9::timestamptz[],
                         $10::timestamptz[], $11::int[], $12::text[], $13::text[], $14::int[],
                         $15::text[], $16::text[], $17::timestamptz[], $18::timestamptz[])
                  AS u(id, status, version, assignee, accepted_at, resolution, resolved_at,
                       resolved_by, closed_at, refused_at, reopen_count, decision,
                       decision_stage, decision_version, decision_reasons, policy_version,
                       deferred_until, decided_at)
            WHERE t.id = u.id""",
        [t.id for t in tickets],
        [t.status for t in tickets],
        [t.version for t in tickets],
        [t.assignee.model_dump_json() if t.assignee else None for t in tickets],
        [t.accepted_at for t in tickets],
        [as_json(t.resolution.__dict__) if t.resolution else None for t in tickets],
        [t.resolved_at for t in tickets],
        [t.resolved_by for t in tickets],
        [t.closed_at for t in tickets],
        [t.refused_at for t in tickets],
        [t.reopen_count for t in tickets],
        [t.decision for t in tickets],
        [t.decision_stage for t in tickets],
        [t.decision_version for t in tickets],
        [as_json([r.model_dump(mode="json") for r in t.decision_reasons]) for t in tickets],
        [t.policy_version for t in tickets],
        [t.deferred_until for t in tickets],
        [t.decided_at for t in tickets],
    )


async def save_ticket(conn: Connection, *, ticket: Ticket) -> None:
    """Persist every field a life-cycle step or a decision may change."""
    await save_tickets(conn, tickets=[ticket])


async def add_transitions(
    conn: Connection, *, entries: Sequence[tuple[uuid.UUID, Transition]]
) -> None:
    """Append entries to tickets' timelines, in the given order (a timeline reads by id)."""
    if not entries:
        return
    await conn.execute(
        """INSERT INTO ticket_transitions (ticket_id, kind, from_status, to_status, at,
                                           actor_id, actor_name, note)
           SELECT e.ticket_id, e.kind, e.from_status, e.to_status, e.at, e.actor_id,
                  e.actor_name, e.note
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[],
                         $6::uuid[], $7::text[], $8::text[])
                  WITH ORDINALITY AS e(ticket_id, kind, from_status, to_status, at, actor_id,
                                       actor_name, note, n)
            ORDER BY e.n""",
        [ticket_id for ticket_id, _ in entries],
        [t.kind for _, t in entries],
        [t.from_status for _, t in entries],
        [t.to_status for _, t in entries],
        [t.at for _, t in entries],
        [t.actor_id for _, t in entries],
        [t.actor_name for _, t in entries],
        [t.note for _, t in entries],
    )


async def add_transition(conn: Connection, *, ticket_id: uuid.UUID, transition: Transition) -> None:
    """Append an entry to the ticket's timeline."""
    await add_transitions(conn, entries=[(ticket_id, transition)])


async def list_transitions(conn: Connection, *, ticket_id: uuid.UUID) -> list[Transition]:
    """The ticket's timeline, oldest first."""
    rows = await conn.fetch(
        "SELECT * FROM ticket_transitions WHERE ticket_id = $1 ORDER BY id", ticket_id
    )
    return [
        Transition(
            r["kind"],
            r["from_status"],
            r["to_status"],
            r["at"],
            r["actor_id"],
            r["actor_name"],
            r["note"],
        )
        for r in rows
    ]


async def add_message(conn: Connection, *, message: Message) -> None:
    """Store one message of the correspondence."""
    await conn.execute(
        """INSERT INTO ticket_messages (id, ticket_id, author_id, author_name, author_role,
                                        internal, body, posted_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
        message.id,
        message.ticket_id,
        message.author_id,
        message.author_name,
        message.author_role,
        message.internal,
        message.body,
        message.posted_at,
    )


async def list_messages(
    conn: Connection, *, ticket_id: uuid.UUID, include_internal: bool
) -> list[Message]:
    """The correspondence in order; internal notes only when asked for (vendor staff)."""
    rows = await conn.fetch(
        """SELECT * FROM ticket_messages WHERE ticket_id = $1 AND ($2 OR NOT internal)
            ORDER BY posted_at, seq""",
        ticket_id,
        include_internal,
    )
    return [
        Message(
            r["id"],
            r["ticket_id"],
            r["author_id"],
            r["author_name"],
            r["author_role"],
            r["internal"],
            r["body"],
            r["posted_at"],
        )
        for r in rows
    ]


async def queue_positions(
    conn: Connection, *, ticket_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, QueuePlace]:
    """Places on the waiting list of those of these tickets that are waiting: a count of the
    tickets before the first of them (`waiting_ahead`, stopping after `QUEUE_COUNT_LIMIT`, so
    its cost does not grow with the list), then a numbering from there to the last of them,
    both along the `tickets_waiting` index (a page's tickets stand close together on the list,
    so the numbered stretch is short)."""
    if not ticket_ids:
        return {}
    rows = await conn.fetch(
        """WITH wanted AS (
                   SELECT available_from, number FROM tickets
                    WHERE id = ANY($1::uuid[]) AND status = 'waiting'),
                lo AS (SELECT * FROM wanted ORDER BY available_from, number LIMIT 1),
                hi AS (SELECT * FROM wanted ORDER BY available_from DESC, number DESC LIMIT 1),
                ahead AS (SELECT waiting_ahead(available_from, number, $2 + 1) AS n FROM lo)
           SELECT id, ahead.n + position AS position, ahead.n <= $2 AS exact FROM (
               SELECT w.id, row_number() OVER (ORDER BY w.available_from, w.number) AS position
                 FROM tickets w, lo, hi
                WHERE w.status = 'waiting'
                  AND (w.available_from, w.number) >= (lo.available_from, lo.number)
                  AND (w.available_from, w.number) <= (hi.available_from, hi.number)) ranked,
                ahead
            WHERE id = ANY($1::uuid[])""",
        list(ticket_ids),
        QUEUE_COUNT_LIMIT,
    )
    return {r["id"]: QueuePlace(int(r["position"]), r["exact"]) for r in rows}


async def place_of_new(conn: Connection, *, ticket: Ticket) -> QueuePlace:
    """The place of a ticket just stored as waiting: the tickets ahead of its key, counted by
    `waiting_ahead` up to `QUEUE_COUNT_LIMIT` (one short statement: the key is known)."""
    ahead = int(
        await conn.fetchval(
            "SELECT waiting_ahead($1, $2, $3)",
            ticket.available_from,
            ticket.number,
            QUEUE_COUNT_LIMIT + 1,
        )
    )
    return QueuePlace(ahead + 1, exact=ahead <= QUEUE_COUNT_LIMIT)


async def waiting_list(
    conn: Connection, *, limit: int, after: tuple[datetime, int] | None, with_total: bool
) -> tuple[list[tuple[Ticket, int]], int | None]:
    """Up to `limit + 1` tickets of the waiting list in the order consultants take them, after
    the sort key `after` (read along the `tickets_waiting` index), each with its position; and
    the list's length if asked."""
    total = None
    if with_total:
        total = int(await conn.fetchval("SELECT count(*) FROM tickets WHERE status = 'waiting'"))
    if after is None:
        rows = await conn.fetch(
            f"""SELECT {TICKET_COLUMNS} FROM tickets WHERE status = 'waiting'
                ORDER BY available_from, number LIMIT $1""",
            limit + 1,
        )
        before = 0
    else:
        rows = await conn.fetch(
            f"""SELECT {TICKET_COLUMNS} FROM tickets WHERE status = 'waiting'
                  AND (available_from, number) > ($2, $3)
                ORDER BY available_from, number LIMIT $1""",
            limit + 1,
            *after,
        )
        before = await conn.fetchval(
            """SELECT count(*) FROM tickets WHERE status = 'waiting'
                  AND (available_from, number) <= ($1, $2)""",
            *after,
        )
    return [(_ticket(r), before + i + 1) for i, r in enumerate(rows)], total


async def lock_next_waiting(conn: Connection, *, now: datetime) -> Ticket | None:
    """Lock the first waiting ticket that may be taken now, skipping ones others are taking."""
    row = await conn.fetchrow(
        f"""SELECT {TICKET_COLUMNS} FROM tickets
            WHERE status = 'waiting' AND available_from <= $1
            ORDER BY available_from, number
            LIMIT 1 FOR UPDATE SKIP LOCKED""",
        now,
    )
    return _ticket(row) if row else None


async def lock_resolved_before(
    conn: Connection, *, resolved_before: datetime, limit: int
) -> list[Ticket]:
    """Lock resolved tickets whose resolution is older than the given moment."""
    rows = await conn.fetch(
        f"""SELECT {TICKET_COLUMNS} FROM tickets WHERE status = 'resolved' AND resolved_at < $1
            ORDER BY resolved_at LIMIT $2 FOR UPDATE SKIP LOCKED""",
        resolved_before,
        limit,
    )
    return [_ticket(r) for r in rows]
