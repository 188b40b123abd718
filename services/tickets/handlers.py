"""Use cases of the tickets service: load -> decide -> save state, timeline and outbox together.
Billing's decisions are recorded by decision_handlers.py, the directory and the attachments by
directory_handlers.py and attachment_handlers.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import asyncpg
import structlog

from contracts.common import Channel, EventModel, Person, Topic
from services.runtime.clock import Clock
from services.runtime.db import Connection
from services.runtime.identity import Principal
from services.runtime.outbox import emit
from services.tickets import (
    attachment_repository,
    attachments,
    directory_repository,
    domain,
    repository,
)
from services.tickets.attachments import Attachment
from services.tickets.domain import (
    Actor,
    Change,
    LifecycleRules,
    Message,
    NewTicket,
    Resolution,
    Ticket,
    TicketError,
    Transition,
)

log = structlog.get_logger(__name__)

SOURCE = "tickets"


def actor_of(principal: Principal) -> Actor:
    """The acting person as the ticket rules see them."""
    return Actor(
        person=Person(
            user_id=principal.user_id,
            email=principal.email,
            display_name=principal.display_name,
            language=principal.language,
        ),
        org_id=principal.org_id,
        is_staff=principal.is_staff,
    )


async def _publish(conn: Connection, ticket: Ticket, event: EventModel, *, now: datetime) -> None:
    await emit(
        conn,
        event,
        source=SOURCE,
        aggregate_id=ticket.id,
        aggregate_version=ticket.version,
        org_id=ticket.org_id,
        occurred_at=now,
    )


async def _store(conn: Connection, change: Change) -> Ticket:
    await repository.save_ticket(conn, ticket=change.ticket)
    await repository.add_transition(conn, ticket_id=change.ticket.id, transition=change.transition)
    await _publish(conn, change.ticket, change.event, now=change.transition.at)
    log.info(
        "ticket changed",
        ticket_id=str(change.ticket.id),
        number=change.ticket.number,
        step=change.transition.kind,
        status=change.ticket.status,
    )
    return change.ticket


class RequesterUnknownError(TicketError):
    """The customer a consultant names has no (active) portal account."""


async def create_ticket(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    subject: str,
    body: str,
    program: str | None,
    topic: Topic,
    channel: Channel,
    now: datetime,
    rules: LifecycleRules,
    requester_email: str | None = None,
    received_at: datetime | None = None,
) -> tuple[Ticket, domain.QueuePlace | None]:
    """Store a ticket, its first timeline entry and its TicketCreated event in one transaction.

    Customers submit for themselves; consultants record a phone or e-mail ticket for the customer
    with `requester_email`, who must have an active portal account, and may give the time it came
    in (`received_at`). Returns the ticket and its place on the waiting list, read on the same
    connection.
    """
    async with pool.acquire() as conn, conn.transaction():
        if requester_email is None:
            requester, org_id = actor_of(principal).person, principal.org_id
        else:
            if not principal.is_staff:
                raise domain.NotAllowedError(
                    "Only consultants record tickets on a customer's behalf."
                )
            user = await directory_repository.find_directory_user(conn, email=requester_email)
            if user is None or not user.active:
                raise RequesterUnknownError(
                    f"No active portal user has the e-mail {requester_email}."
                )
            requester, org_id = user.person(), user.org_id
        new = domain.open_ticket(
            requester=requester,
            org_id=org_id,
            subject=subject,
            body=body,
            program=program,
            topic=topic,
            channel=channel,
            recorded_by=principal.user_id if channel != "portal" else None,
            recorder_is_staff=principal.is_staff,
            now=now,
            received_at=received_at,
            rules=rules,
        )
        ticket = await store_new_ticket(conn, new, recorded_by_name=principal.display_name, now=now)
        place = await repository.place_of_new(conn, ticket=ticket)
    log.info("ticket created", ticket_id=str(ticket.id), number=ticket.number, channel=channel)
    return ticket, place


async def store_new_ticket(
    conn: Connection, new: NewTicket, *, recorded_by_name: str | None, now: datetime
) -> Ticket:
    """Insert a new ticket with its first timeline entry and its TicketCreated event (the
    caller's transaction; submission and the old portal's import)."""
    ticket = await repository.insert_ticket(conn, new=new)
    opening = domain.opening_transition(ticket, recorded_by_name=recorded_by_name)
    await repository.add_transition(conn, ticket_id=ticket.id, transition=opening)
    await _publish(conn, ticket, domain.created_event(ticket), now=now)
    return ticket


async def _change(
    pool: asyncpg.Pool,
    principal: Principal,
    ticket_id: uuid.UUID,
    step: Callable[[Ticket, Actor], Change],
) -> Ticket:
    """Lock the ticket (404 outside the caller's organization), take the step, store it."""
    async with pool.acquire() as conn, conn.transaction():
        ticket = await repository.get_ticket(
            conn, ticket_id=ticket_id, org_id=principal.org_scope, for_update=True
        )
        return await _store(conn, step(ticket, actor_of(principal)))


async def accept(
    pool: asyncpg.Pool, *, principal: Principal, ticket_id: uuid.UUID, now: datetime
) -> Ticket:
    """A consultant accepts a waiting ticket into work."""
    return await _change(pool, principal, ticket_id, partial(domain.accept, now=now))


async def accept_next(pool: asyncpg.Pool, *, principal: Principal, now: datetime) -> Ticket | None:
    """A consultant takes the first ticket of the waiting list that may be taken now."""
    actor = actor_of(principal)
    if not actor.is_staff:
        raise domain.NotAllowedError("Only consultants accept tickets into work.")
    async with pool.acquire() as conn, conn.transaction():
        ticket = await repository.lock_next_waiting(conn, now=now)
        if ticket is None:
            return None
        return await _store(conn, domain.accept(ticket, actor, now=now))


async def resolve(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    resolution: Resolution,
    now: datetime,
) -> Ticket:
    """A consultant resolves a ticket in work."""
    step = partial(domain.resolve, resolution=resolution, now=now)
    return await _change(pool, principal, ticket_id, step)


async def reopen(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    reason: str,
    rules: LifecycleRules,
    now: datetime,
) -> Ticket:
    """The customer reopens a resolved ticket within the window."""
    step = partial(domain.reopen, reason=reason, now=now, rules=rules)
    return await _change(pool, principal, ticket_id, step)


async def close(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    rules: LifecycleRules,
    now: datetime,
) -> Ticket:
    """The customer (or a consultant) confirms a resolved ticket is done."""
    return await _change(pool, principal, ticket_id, partial(domain.close, now=now, rules=rules))


async def close_expired(
    pool: asyncpg.Pool, *, rules: LifecycleRules, clock: Clock, batch: int = 100
) -> int:
    """Close resolved tickets whose reopening window ended; return how many were closed."""
    now = clock.now()
    async with pool.acquire() as conn, conn.transaction():
        due = await repository.lock_resolved_before(
            conn, resolved_before=now - rules.reopen_window, limit=batch
        )
        for ticket in due:
            await _store(conn, domain.close(ticket, None, now=now, rules=rules))
    return len(due)


async def post_message(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    ticket_id: uuid.UUID,
    body: str,
    internal: bool,
    now: datetime,
    attachment_ids: Sequence[uuid.UUID] = (),
    attachment_wait_s: float = 0,
) -> tuple[Message, tuple[Attachment, ...]]:
    """Add a message (or, for consultants, an internal note) to the ticket's correspondence,
    with the files it names: each the poster's own upload to this ticket, on no other message
    (`AttachmentsRefusedError` otherwise, and nothing is stored)."""
    actor = actor_of(principal)
    if attachment_ids:
        await attachment_repository.wait_until_known(pool, attachment_ids, wait_s=attachment_wait_s)
    async with pool.acquire() as conn, conn.transaction():
        ticket = await repository.get_ticket(
            conn, ticket_id=ticket_id, org_id=principal.org_scope, for_update=True
        )
        updated, message, event = domain.post_message(
            ticket,
            actor,
            body=body,
            internal=internal,
            now=now,
            attachment_ids=tuple(attachment_ids),
        )
        carried: tuple[Attachment, ...] = ()
        if attachment_ids:
            carried = attachments.for_message(
                await attachment_repository.lock(conn, attachment_ids),
                attachment_ids,
                ticket_id=ticket.id,
                poster_id=actor.person.user_id,
            )
        await repository.save_ticket(conn, ticket=updated)
        await repository.add_message(conn, message=message)
        if carried:
            await attachment_repository.attach_to_message(
                conn, attachment_ids=attachment_ids, ticket_id=ticket.id, message_id=message.id
            )
        await _publish(conn, updated, event, now=now)
    log.info(
        "message posted",
        ticket_id=str(ticket_id),
        internal=internal,
        role=actor.role,
        attachments=len(carried),
    )
    return message, carried


@dataclass(frozen=True)
class TicketView:
    """A ticket as its reader may see it: state, timeline, correspondence, queue position."""

    ticket: Ticket
    timeline: list[Transition]
    messages: list[Message]
    queue_place: domain.QueuePlace | None
    attachments: dict[uuid.UUID, list[Attachment]]
    """The files of each message shown, by message id."""


async def view_ticket(
    conn: Connection, *, principal: Principal, ticket_id: uuid.UUID
) -> TicketView:
    """One ticket of the caller's organization (any for staff); internal notes, and so their
    files, for staff only."""
    ticket = await repository.get_ticket(conn, ticket_id=ticket_id, org_id=principal.org_scope)
    timeline = await repository.list_transitions(conn, ticket_id=ticket.id)
    messages = await repository.list_messages(
        conn, ticket_id=ticket.id, include_internal=principal.is_staff
    )
    positions = await repository.queue_positions(conn, ticket_ids=[ticket.id])
    files = await attachment_repository.of_messages(conn, message_ids=[m.id for m in messages])
    return TicketView(ticket, timeline, messages, positions.get(ticket.id), files)
