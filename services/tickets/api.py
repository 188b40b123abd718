"""HTTP routes of the tickets service: parse, authorize, call a handler, shape the response."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.common import (
    EMAIL_PATTERN,
    Channel,
    Decision,
    DecisionStage,
    Language,
    Person,
    RuleHit,
)
from services.runtime.app import Pool
from services.runtime.identity import CurrentPrincipal
from services.tickets import handlers, repository
from services.tickets.domain import NotAllowedError, Ticket, TicketError


class RequesterIn(BaseModel):
    """The customer a consultant records a phone or e-mail ticket for."""

    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID
    org_id: uuid.UUID
    email: Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=254)]
    display_name: Annotated[str, Field(min_length=1, max_length=200)]
    language: Language = "sl"


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    subject: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\r\n]*$")]
    body: Annotated[str, Field(min_length=1, max_length=20000)]
    program: Annotated[str | None, Field(max_length=100)] = None
    channel: Channel = "portal"
    requester: RequesterIn | None = None

    @model_validator(mode="after")
    def _requester_only_for_recorded_tickets(self) -> TicketIn:
        if self.channel == "portal" and self.requester is not None:
            raise ValueError("'requester' is given only for tickets recorded from phone or e-mail")
        if self.channel != "portal" and self.requester is None:
            raise ValueError("a phone or e-mail ticket needs the 'requester' it was received from")
        return self


class DecisionOut(BaseModel):
    decision: Decision
    stage: DecisionStage
    reasons: list[RuleHit]
    policy_version: str | None
    deferred_until: datetime | None
    decided_at: datetime | None


class TicketOut(BaseModel):
    id: uuid.UUID
    number: int
    org_id: uuid.UUID
    status: str
    channel: Channel
    subject: str
    body: str
    program: str | None
    requester: Person
    submitted_at: datetime
    version: int
    decision: DecisionOut | None

    @classmethod
    def of(cls, t: Ticket) -> TicketOut:
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
        return cls(
            id=t.id,
            number=t.number,
            org_id=t.org_id,
            status=t.status,
            channel=t.channel,
            subject=t.subject,
            body=t.body,
            program=t.program,
            requester=t.requester,
            submitted_at=t.submitted_at,
            version=t.version,
            decision=decision,
        )


class TicketPage(BaseModel):
    items: list[TicketOut]
    total: int
    limit: int
    offset: int


router = APIRouter(prefix="/api/tickets", tags=["tickets"])


@router.post("", status_code=201, response_model=TicketOut)
async def submit_ticket(body: TicketIn, principal: CurrentPrincipal, pool: Pool) -> TicketOut:
    """Submit a help request on the portal, or (consultants) record one received by phone/e-mail."""
    if body.requester is None:
        requester = Person(
            user_id=principal.user_id,
            email=principal.email,
            display_name=principal.display_name,
            language=principal.language,
        )
        org_id = principal.org_id
    else:
        r = body.requester
        requester = Person(
            user_id=r.user_id, email=r.email, display_name=r.display_name, language=r.language
        )
        org_id = r.org_id
    try:
        ticket = await handlers.create_ticket(
            pool,
            principal=principal,
            requester=requester,
            org_id=org_id,
            subject=body.subject,
            body=body.body,
            program=body.program,
            channel=body.channel,
        )
    except NotAllowedError as error:
        raise HTTPException(403, str(error)) from None
    except TicketError as error:
        raise HTTPException(422, str(error)) from None
    return TicketOut.of(ticket)


@router.get("/{ticket_id}", response_model=TicketOut)
async def get_ticket(ticket_id: uuid.UUID, principal: CurrentPrincipal, pool: Pool) -> TicketOut:
    """One ticket of the caller's organization (any organization for consultants)."""
    async with pool.acquire() as conn:
        try:
            ticket = await repository.get_ticket(
                conn, ticket_id=ticket_id, org_id=principal.org_scope
            )
        except repository.NotFoundError:
            raise HTTPException(404, "No such ticket.") from None
    return TicketOut.of(ticket)


@router.get("", response_model=TicketPage)
async def list_tickets(
    principal: CurrentPrincipal,
    pool: Pool,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TicketPage:
    """The caller's organization's tickets, newest first (all organizations for consultants)."""
    async with pool.acquire() as conn:
        tickets, total = await repository.list_tickets(
            conn, org_id=principal.org_scope, limit=limit, offset=offset
        )
    return TicketPage(
        items=[TicketOut.of(t) for t in tickets], total=total, limit=limit, offset=offset
    )
