"""HTTP routes of the tickets service: parse, authorize, call a handler, shape the response."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from contracts.common import (
    TicketStatus,
    Topic,
)
from services.runtime.app import CurrentClock, Pool
from services.runtime.identity import CurrentPrincipal, VendorStaff
from services.runtime.paging import (
    CursorPage,
    CursorParam,
    NoOffset,
    WithTotal,
    after_cursor,
)
from services.runtime.problems import DomainErrors, problems
from services.tickets import handlers, repository
from services.tickets.api_models import (
    Limit,
    MessageIn,
    MessageOut,
    QueueEntryOut,
    ReopenIn,
    ResolveIn,
    SearchText,
    TicketDetailOut,
    TicketIn,
    TicketOut,
    TimelineEntryOut,
)
from services.tickets.domain import (
    LifecycleRules,
    NotAllowedError,
    QueuePlace,
    Ticket,
    TicketError,
    TransitionError,
)

DOMAIN_ERRORS: DomainErrors = {
    repository.NotFoundError: (404, "No such ticket."),
    NotAllowedError: 403,
    TransitionError: 409,
    TicketError: 422,  # with `errors` for an import's or a message's list of refusals
}
"""The ticket rules' refusals and the problems they are answered with (services/runtime/
problems.py); the routes let them out."""


async def _rules(request: Request) -> LifecycleRules:
    rules: LifecycleRules = request.app.state.ticket_rules
    return rules


Rules = Annotated[LifecycleRules, Depends(_rules)]


async def _attachment_wait_s(request: Request) -> float:
    wait_s: float = request.app.state.attachment_wait_s
    return wait_s


AttachmentWait = Annotated[float, Depends(_attachment_wait_s)]

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


@router.post("", status_code=201, response_model=TicketOut)
async def submit_ticket(
    body: TicketIn, principal: CurrentPrincipal, pool: Pool, rules: Rules, clock: CurrentClock
) -> TicketOut:
    """Submit a help request on the portal, or (consultants) record one received by phone
    or e-mail for the customer with `requester_email`."""
    ticket, place = await handlers.create_ticket(
        pool,
        principal=principal,
        subject=body.subject,
        body=body.body,
        program=body.program,
        topic=body.topic,
        channel=body.channel,
        requester_email=body.requester_email,
        received_at=body.received_at,
        now=clock.now(),
        rules=rules,
    )
    return TicketOut.of(ticket, rules, place)


@router.get("", response_model=CursorPage[TicketOut], dependencies=[NoOffset])
async def list_tickets(
    principal: CurrentPrincipal,
    pool: Pool,
    rules: Rules,
    *,
    status: TicketStatus | None = None,
    program: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    topic: Topic | None = None,
    q: SearchText = None,
    limit: Limit = 20,
    cursor: CursorParam = None,
    with_total: WithTotal = False,
) -> CursorPage[TicketOut]:
    """The caller's organization's tickets (all for consultants), newest first; filter by
    status, program, topic, and text `q` in the subject or description. The next page is asked
    with `cursor` = the previous page's `next_cursor`."""
    filters = repository.TicketFilter(status=status, program=program, topic=topic, text=q)
    after = after_cursor(cursor, datetime, uuid.UUID)
    async with pool.acquire() as conn:
        tickets, total = await repository.list_tickets(
            conn,
            org_id=principal.org_scope,
            filters=filters,
            limit=limit,
            after=after,
            with_total=with_total,
        )
        positions = await repository.queue_positions(
            conn, ticket_ids=[t.id for t in tickets[:limit] if t.status == "waiting"]
        )
    return CursorPage[TicketOut].of(
        tickets,
        limit=limit,
        item=lambda t: TicketOut.of(t, rules, positions.get(t.id)),
        key=lambda t: (t.submitted_at, t.id),
        total=total,
    )


@router.get("/queue", response_model=CursorPage[QueueEntryOut], dependencies=[NoOffset])
async def waiting_list(
    principal: VendorStaff,
    pool: Pool,
    rules: Rules,
    *,
    clock: CurrentClock,
    limit: Limit = 50,
    cursor: CursorParam = None,
    with_total: WithTotal = False,
) -> CursorPage[QueueEntryOut]:
    """The waiting list across organizations, in the order consultants take tickets."""
    after = after_cursor(cursor, datetime, int)
    async with pool.acquire() as conn:
        page, total = await repository.waiting_list(
            conn, limit=limit, after=after, with_total=with_total
        )
    now = clock.now()

    def entry(row: tuple[Ticket, int]) -> QueueEntryOut:
        ticket, position = row
        return QueueEntryOut(
            position=position,
            available_from=ticket.available_from,
            ready=ticket.ready(now),
            ticket=TicketOut.of(ticket, rules, QueuePlace(position, exact=True)),
        )

    return CursorPage[QueueEntryOut].of(
        page,
        limit=limit,
        item=entry,
        key=lambda row: (row[0].available_from, row[0].number),
        total=total,
    )


@router.post("/queue/next", response_model=TicketOut, responses={204: {}, **problems(409)})
async def take_next(
    principal: CurrentPrincipal, pool: Pool, rules: Rules, clock: CurrentClock
) -> TicketOut | Response:
    """Accept the first ticket of the waiting list that may be taken now; 204 when none."""
    ticket = await handlers.accept_next(pool, principal=principal, now=clock.now())
    return TicketOut.of(ticket, rules) if ticket else Response(status_code=204)


@router.get("/{ticket_id}", response_model=TicketDetailOut)
async def get_ticket(
    ticket_id: uuid.UUID, principal: CurrentPrincipal, pool: Pool, rules: Rules
) -> TicketDetailOut:
    """One ticket with its timeline, correspondence, decision and waiting-list position;
    404 for another organization's ticket. Internal notes are shown to consultants only."""
    async with pool.acquire() as conn:
        view = await handlers.view_ticket(conn, principal=principal, ticket_id=ticket_id)
    base = TicketOut.of(view.ticket, rules, view.queue_place)
    return TicketDetailOut(
        **base.model_dump(),
        timeline=[TimelineEntryOut.of(t) for t in view.timeline],
        messages=[MessageOut.of(m, view.attachments.get(m.id, ())) for m in view.messages],
    )


@router.post("/{ticket_id}/accept", response_model=TicketOut, responses=problems(409))
async def accept(
    ticket_id: uuid.UUID, principal: CurrentPrincipal, pool: Pool, rules: Rules, clock: CurrentClock
) -> TicketOut:
    """A consultant accepts a waiting ticket into work; 409 if it is not waiting."""
    ticket = await handlers.accept(pool, principal=principal, ticket_id=ticket_id, now=clock.now())
    return TicketOut.of(ticket, rules)


@router.post("/{ticket_id}/resolve", response_model=TicketOut, responses=problems(409))
async def resolve(
    ticket_id: uuid.UUID,
    body: ResolveIn,
    principal: CurrentPrincipal,
    pool: Pool,
    rules: Rules,
    *,
    clock: CurrentClock,
) -> TicketOut:
    """A consultant resolves a ticket in work, with the resolution and the work it took."""
    ticket = await handlers.resolve(
        pool,
        principal=principal,
        ticket_id=ticket_id,
        resolution=body.recorded(),
        now=clock.now(),
    )
    return TicketOut.of(ticket, rules)


@router.post("/{ticket_id}/reopen", response_model=TicketOut, responses=problems(409))
async def reopen(
    ticket_id: uuid.UUID,
    body: ReopenIn,
    principal: CurrentPrincipal,
    pool: Pool,
    rules: Rules,
    *,
    clock: CurrentClock,
) -> TicketOut:
    """The customer reopens a resolved ticket within the reopening window."""
    ticket = await handlers.reopen(
        pool,
        principal=principal,
        ticket_id=ticket_id,
        reason=body.reason,
        rules=rules,
        now=clock.now(),
    )
    return TicketOut.of(ticket, rules)


@router.post("/{ticket_id}/close", response_model=TicketOut, responses=problems(409))
async def close(
    ticket_id: uuid.UUID, principal: CurrentPrincipal, pool: Pool, rules: Rules, clock: CurrentClock
) -> TicketOut:
    """Confirm a resolved ticket is done (it also closes itself after the window)."""
    ticket = await handlers.close(
        pool, principal=principal, ticket_id=ticket_id, rules=rules, now=clock.now()
    )
    return TicketOut.of(ticket, rules)


@router.post(
    "/{ticket_id}/messages", status_code=201, response_model=MessageOut, responses=problems(409)
)
async def post_message(
    ticket_id: uuid.UUID,
    body: MessageIn,
    principal: CurrentPrincipal,
    pool: Pool,
    *,
    clock: CurrentClock,
    attachment_wait_s: AttachmentWait,
) -> MessageOut:
    """Write to the ticket's correspondence; consultants may add `internal` notes. The files
    it names must be the caller's own uploads to this ticket, on no other message (422 names
    each one that is not; nothing is stored)."""
    message, files = await handlers.post_message(
        pool,
        principal=principal,
        ticket_id=ticket_id,
        body=body.body,
        internal=body.internal,
        now=clock.now(),
        attachment_ids=body.attachment_ids,
        attachment_wait_s=attachment_wait_s,
    )
    return MessageOut.of(message, files)
