"""HTTP routes of the tickets service: parse, authorize, call a handler, shape the response."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.common import (
    EMAIL_PATTERN,
    Channel,
    Decision,
    DecisionStage,
    Person,
    RuleHit,
    TicketStatus,
    Topic,
)
from contracts.tickets import MAX_ATTACHMENTS_PER_MESSAGE, AuthorRole
from services.runtime.app import CurrentClock, Pool
from services.runtime.bodies import IMPORT_BODY
from services.runtime.identity import CurrentPrincipal, VendorAdmin, VendorStaff
from services.runtime.moments import Moment
from services.runtime.paging import (
    CursorPage,
    CursorParam,
    KeyPart,
    NoOffset,
    WithTotal,
    decode_cursor,
)
from services.runtime.problems import DomainErrors, problems
from services.tickets import archive, archive_repository, handlers, importing, repository
from services.tickets.attachment_views import AttachmentOut
from services.tickets.attachments import Attachment
from services.tickets.domain import (
    LifecycleRules,
    Message,
    NotAllowedError,
    QueuePlace,
    Resolution,
    Ticket,
    TicketError,
    Transition,
    TransitionError,
)
from services.tickets.legacy_import import LegacyTicketFile

Text = Annotated[str, Field(min_length=1, max_length=20000)]


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    subject: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\r\n]*$")]
    body: Text
    program: Annotated[str | None, Field(max_length=100)] = None
    topic: Topic = "other"
    channel: Channel = "portal"
    requester_email: Annotated[str | None, Field(pattern=EMAIL_PATTERN, max_length=254)] = None
    received_at: Moment | None = None
    """When the customer phoned or wrote (phone and e-mail tickets; default: now). It is the
    submission time for the waiting list and the policy; at most TICKETS_RECEIVED_MAX_AGE_DAYS
    (7) days ago, never in the future."""

    @model_validator(mode="after")
    def _requester_only_for_recorded_tickets(self) -> TicketIn:
        if self.channel == "portal" and self.requester_email is not None:
            raise ValueError(
                "'requester_email' is given only for tickets recorded from phone or e-mail"
            )
        if self.channel == "portal" and self.received_at is not None:
            raise ValueError(
                "a portal ticket is submitted now; 'received_at' is given only for tickets "
                "recorded from phone or e-mail"
            )
        if self.channel != "portal" and self.requester_email is None:
            raise ValueError(
                "a phone or e-mail ticket needs the 'requester_email' of the customer it came from"
            )
        return self


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    resolution: Text
    time_spent_minutes: Annotated[int, Field(ge=0, le=100_000)]
    remote_session: bool = False
    data_correction: bool = False
    training: bool = False
    doc_reference: Annotated[str | None, Field(min_length=1, max_length=500)] = None
    other_remote_service: bool = False


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Text


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    body: Text
    internal: bool = False
    attachment_ids: list[uuid.UUID] = Field(
        default=[],
        max_length=MAX_ATTACHMENTS_PER_MESSAGE,
        description="Files the caller uploaded to this ticket "
        "(`POST /api/content/tickets/{id}/attachments`) that the message carries.",
    )


class DecisionOut(BaseModel):
    decision: Decision
    stage: DecisionStage
    reasons: list[RuleHit]
    policy_version: str | None
    deferred_until: datetime | None
    decided_at: datetime | None


class ResolutionOut(BaseModel):
    text: str
    time_spent_minutes: int
    remote_session: bool
    data_correction: bool
    training: bool
    doc_reference: str | None
    other_remote_service: bool


class TicketOut(BaseModel):
    id: uuid.UUID
    number: int
    org_id: uuid.UUID
    status: TicketStatus
    channel: Channel
    topic: Topic
    subject: str
    body: str
    program: str | None
    requester: Person
    submitted_at: datetime
    consultant: Person | None
    accepted_at: datetime | None
    resolved_at: datetime | None
    resolution: ResolutionOut | None
    closed_at: datetime | None
    refused_at: datetime | None
    reopen_until: datetime | None
    queue_position: int | None = Field(
        description="The place on the waiting list (1 = next) while the ticket waits."
    )
    queue_position_exact: bool | None = Field(
        description="False when more than 100 tickets are ahead: the count stops there, and "
        "`queue_position` is the least the place can be. Null while the ticket does not wait."
    )
    legacy_reference: str | None
    version: int
    decision: DecisionOut | None

    @classmethod
    def of(cls, t: Ticket, rules: LifecycleRules, place: QueuePlace | None = None) -> TicketOut:
        decision = None
        if t.decision is not None and t.decision_stage is not None:
            decision = DecisionOut(
                decision=t.decision,
                stage=t.decision_stage,
                reasons=list(t.decision_reasons),
                policy_version=t.policy_version,
                deferred_until=t.deferred_until,
                decided_at=t.decided_at,
            )
        resolution = ResolutionOut(**t.resolution.__dict__) if t.resolution else None
        return cls(
            id=t.id,
            number=t.number,
            org_id=t.org_id,
            status=t.status,
            channel=t.channel,
            topic=t.topic,
            subject=t.subject,
            body=t.body,
            program=t.program,
            requester=t.requester,
            submitted_at=t.submitted_at,
            consultant=t.assignee,
            accepted_at=t.accepted_at,
            resolved_at=t.resolved_at,
            resolution=resolution,
            closed_at=t.closed_at,
            refused_at=t.refused_at,
            reopen_until=t.reopen_until(rules),
            queue_position=place.position if place else None,
            queue_position_exact=place.exact if place else None,
            legacy_reference=t.legacy_reference,
            version=t.version,
            decision=decision,
        )


class TimelineEntryOut(BaseModel):
    kind: str
    from_status: TicketStatus | None
    to_status: TicketStatus
    at: datetime
    by: str | None
    note: str | None

    @classmethod
    def of(cls, t: Transition) -> TimelineEntryOut:
        return cls(
            kind=t.kind,
            from_status=t.from_status,
            to_status=t.to_status,
            at=t.at,
            by=t.actor_name,
            note=t.note,
        )


class MessageOut(BaseModel):
    id: uuid.UUID
    author_id: uuid.UUID | None
    author_name: str
    author_role: AuthorRole
    internal: bool
    body: str
    posted_at: datetime
    attachments: list[AttachmentOut]

    @classmethod
    def of(cls, m: Message, files: Sequence[Attachment] = ()) -> MessageOut:
        return cls(
            id=m.id,
            author_id=m.author_id,
            author_name=m.author_name,
            author_role=m.author_role,
            internal=m.internal,
            body=m.body,
            posted_at=m.posted_at,
            attachments=[AttachmentOut.of(f) for f in files],
        )


class TicketDetailOut(TicketOut):
    timeline: list[TimelineEntryOut]
    messages: list[MessageOut]


class QueueEntryOut(BaseModel):
    position: int
    available_from: datetime
    ready: bool
    ticket: TicketOut


class ArchivedMessageOut(BaseModel):
    author_name: str
    author_role: str
    body: str
    posted_at: datetime
    attachments: list[AttachmentOut]

    @classmethod
    def of(cls, m: archive.ArchivedMessage) -> ArchivedMessageOut:
        return cls(
            author_name=m.author_name,
            author_role=m.author_role,
            body=m.body,
            posted_at=m.posted_at,
            attachments=[AttachmentOut.of(f) for f in m.attachments],
        )


class ArchivedTicketOut(BaseModel):
    id: uuid.UUID
    legacy_reference: str
    org_id: uuid.UUID
    requester: Person
    channel: str
    topic: str
    subject: str
    body: str
    program: str | None
    submitted_at: datetime
    accepted_at: datetime | None
    resolved_at: datetime
    resolution: str
    consultant_name: str | None
    messages: list[ArchivedMessageOut]

    @classmethod
    def of(cls, a: archive.ArchivedTicket) -> ArchivedTicketOut:
        return cls(
            **{k: v for k, v in a.__dict__.items() if k != "messages"},
            messages=[ArchivedMessageOut.of(m) for m in a.messages],
        )


class ImportOut(BaseModel):
    live_created: int
    archived: int
    unchanged: int
    attachments: int = Field(description="Files of the old portal attached to their messages.")


DOMAIN_ERRORS: DomainErrors = {
    repository.NotFoundError: (404, "No such ticket."),
    NotAllowedError: 403,
    TransitionError: 409,
    TicketError: 422,  # with `errors` for an import's or a message's list of refusals
}
"""The ticket rules' refusals and the problems they are answered with (services/runtime/
problems.py); the routes let them out."""


Limit = Annotated[int, Query(ge=1, le=100)]
SearchText = Annotated[str | None, Query(min_length=1, max_length=200)]


def _after(cursor: str | None, *kinds: type[KeyPart]) -> tuple[Any, ...] | None:
    return None if cursor is None else decode_cursor(cursor, *kinds)


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
    after = _after(cursor, datetime, uuid.UUID)
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
    after = _after(cursor, datetime, int)
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


@router.get("/archive", response_model=CursorPage[ArchivedTicketOut], dependencies=[NoOffset])
async def list_archive(
    principal: CurrentPrincipal,
    pool: Pool,
    *,
    q: SearchText = None,
    limit: Limit = 20,
    cursor: CursorParam = None,
    with_total: WithTotal = False,
) -> CursorPage[ArchivedTicketOut]:
    """The old portal's resolved tickets of the caller's organization, newest first;
    `q` searches subject, description, resolution, or an exact old number."""
    after = _after(cursor, datetime, uuid.UUID)
    async with pool.acquire() as conn:
        entries, total = await archive_repository.list_archived(
            conn,
            org_id=principal.org_scope,
            text=q,
            limit=limit,
            after=after,
            with_total=with_total,
        )
    return CursorPage[ArchivedTicketOut].of(
        entries,
        limit=limit,
        item=ArchivedTicketOut.of,
        key=lambda a: (a.submitted_at, a.id),
        total=total,
    )


@router.get("/archive/{archived_id}", response_model=ArchivedTicketOut)
async def get_archived(
    archived_id: uuid.UUID, principal: CurrentPrincipal, pool: Pool
) -> ArchivedTicketOut:
    """One archived ticket with its correspondence (read-only)."""
    async with pool.acquire() as conn:
        entry = await archive_repository.get_archived(
            conn, archived_id=archived_id, org_id=principal.org_scope
        )
    return ArchivedTicketOut.of(entry)


@router.post("/import", response_model=ImportOut, openapi_extra=IMPORT_BODY)
async def import_legacy(
    document: LegacyTicketFile, principal: VendorAdmin, pool: Pool, clock: CurrentClock
) -> ImportOut:
    """Import the old portal's tickets (vendor admins); all or nothing, safe to repeat."""
    result = await importing.import_legacy_tickets(
        pool, principal=principal, document=document, now=clock.now()
    )
    return ImportOut(**result.__dict__)


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
    resolution = Resolution(
        text=body.resolution,
        time_spent_minutes=body.time_spent_minutes,
        remote_session=body.remote_session,
        data_correction=body.data_correction,
        training=body.training,
        doc_reference=body.doc_reference,
        other_remote_service=body.other_remote_service,
    )
    ticket = await handlers.resolve(
        pool, principal=principal, ticket_id=ticket_id, resolution=resolution, now=clock.now()
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
