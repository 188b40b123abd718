"""Tickets: pure state and decisions, returning the events they cause. No I/O here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from contracts.billing import TicketClassified
from contracts.common import Channel, Decision, DecisionStage, Person, RuleHit
from contracts.tickets import TicketCreated, TicketDecisionRecorded


class TicketError(ValueError):
    """A request that the ticket rules do not allow."""


class NotAllowedError(TicketError):
    """The caller's role may not do this."""


@dataclass(frozen=True)
class Ticket:
    id: uuid.UUID
    number: int
    org_id: uuid.UUID
    requester: Person
    channel: Channel
    subject: str
    body: str
    program: str | None
    status: str
    submitted_at: datetime
    recorded_by: uuid.UUID | None
    version: int
    decision: Decision | None = None
    decision_stage: DecisionStage | None = None
    decision_version: int = 0
    decision_reasons: tuple[RuleHit, ...] = ()
    policy_version: str | None = None
    deferred_until: datetime | None = None
    decided_at: datetime | None = None


@dataclass(frozen=True)
class NewTicket:
    """What is known when a ticket is opened, before it has a number."""

    id: uuid.UUID
    org_id: uuid.UUID
    requester: Person
    channel: Channel
    subject: str
    body: str
    program: str | None
    submitted_at: datetime
    recorded_by: uuid.UUID | None


def open_ticket(
    *,
    requester: Person,
    org_id: uuid.UUID,
    subject: str,
    body: str,
    program: str | None,
    channel: Channel,
    recorded_by: uuid.UUID | None,
    recorder_is_staff: bool,
    now: datetime,
) -> NewTicket:
    """Open a ticket. Only consultants record phone or e-mail tickets, on a customer's behalf."""
    if channel != "portal" and not recorder_is_staff:
        raise NotAllowedError("Only consultants record tickets received by phone or e-mail.")
    if channel == "portal" and recorder_is_staff:
        raise TicketError(
            "Consultants record tickets with channel 'phone' or 'email' on a customer's behalf."
        )
    if not subject.strip() or not body.strip():
        raise TicketError("A ticket needs a subject and a description.")
    return NewTicket(
        id=uuid.uuid4(),
        org_id=org_id,
        requester=requester,
        channel=channel,
        subject=subject.strip(),
        body=body.strip(),
        program=program.strip() if program else None,
        submitted_at=now,
        recorded_by=recorded_by,
    )


def created_event(ticket: Ticket) -> TicketCreated:
    """The event announcing a stored ticket."""
    return TicketCreated(
        ticket_id=ticket.id,
        number=ticket.number,
        org_id=ticket.org_id,
        requester=ticket.requester,
        channel=ticket.channel,
        subject=ticket.subject,
        body=ticket.body,
        program=ticket.program,
        submitted_at=ticket.submitted_at,
        recorded_by=ticket.recorded_by,
    )


def record_decision(
    ticket: Ticket, classified: TicketClassified, *, decision_version: int
) -> tuple[Ticket, TicketDecisionRecorded] | None:
    """Record billing's decision on the ticket; None when it is not newer than the one recorded."""
    if classified.ticket_id != ticket.id or classified.org_id != ticket.org_id:
        raise TicketError(f"decision about ticket {classified.ticket_id} given for {ticket.id}")
    if decision_version <= ticket.decision_version:
        return None
    updated = replace(
        ticket,
        version=ticket.version + 1,
        decision=classified.decision,
        decision_stage=classified.stage,
        decision_version=decision_version,
        decision_reasons=classified.reasons,
        policy_version=classified.policy_version,
        deferred_until=classified.deferred_until,
        decided_at=classified.decided_at,
    )
    event = TicketDecisionRecorded(
        ticket_id=ticket.id,
        number=ticket.number,
        org_id=ticket.org_id,
        requester=ticket.requester,
        subject=ticket.subject,
        stage=classified.stage,
        decision=classified.decision,
        reasons=classified.reasons,
        policy_version=classified.policy_version,
        deferred_until=classified.deferred_until,
    )
    return updated, event
