"""Tickets: pure state, the life-cycle state machine, and the events each change causes. No I/O.

    waiting --accept--> in_progress --resolve--> resolved --close--> closed
                                    <--reopen-- (customer, within the reopening window)
    waiting / in_progress --refuse (policy decision)--> refused

Every change returns a `Change`: the updated ticket (version + 1), the timeline entry and the
event to publish. Anything else is refused with a `TransitionError` naming what is possible.

Longer than most modules (~600 lines) on purpose: it is one state machine, and each transition
reads best next to the others and to the state it moves (splitting the types from the moves
would make every reader open both).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final, Literal, TypedDict

from contracts.billing import TicketClassified
from contracts.common import (
    Channel,
    Decision,
    DecisionStage,
    EventModel,
    Person,
    RuleHit,
    TicketStatus,
    Topic,
)
from contracts.tickets import (
    AuthorRole,
    TicketAccepted,
    TicketClosed,
    TicketCreated,
    TicketDecisionRecorded,
    TicketMessagePosted,
    TicketRefused,
    TicketReopened,
    TicketResolved,
)

Action = Literal["accept", "resolve", "close", "reopen", "refuse"]

TRANSITIONS: Final[dict[tuple[TicketStatus, Action], TicketStatus]] = {
    ("waiting", "accept"): "in_progress",
    ("in_progress", "resolve"): "resolved",
    ("resolved", "close"): "closed",
    ("resolved", "reopen"): "in_progress",
    ("waiting", "refuse"): "refused",
    ("in_progress", "refuse"): "refused",
}

_STATUS_WORDS: Final[dict[TicketStatus, str]] = {
    "waiting": "on the waiting list",
    "in_progress": "in work",
    "resolved": "resolved",
    "closed": "closed",
    "refused": "refused",
}


class TicketError(ValueError):
    """A request that the ticket rules do not allow (bad input)."""


class NotAllowedError(TicketError):
    """The caller's role may not do this."""


class TransitionError(TicketError):
    """The ticket's current status does not allow this change."""


@dataclass(frozen=True)
class LifecycleRules:
    """Documented limits of the life cycle (configurable through the service settings)."""

    reopen_window: timedelta = timedelta(days=14)
    received_max_age: timedelta = timedelta(days=7)
    """How far back a consultant may date a phone or e-mail ticket (when the customer called)."""
    received_leeway: timedelta = timedelta(minutes=2)
    """A "came in at" this little ahead of the server's clock is a device clock running fast."""


@dataclass(frozen=True)
class Actor:
    """The verified person acting on a ticket."""

    person: Person
    org_id: uuid.UUID
    is_staff: bool

    @property
    def role(self) -> AuthorRole:
        return "consultant" if self.is_staff else "customer"


@dataclass(frozen=True)
class Resolution:
    """What a consultant records when resolving: the answer, time spent, what the work involved.
    From `api_models.ResolveIn.recorded()`; announced as `TicketResolved` (`resolve`)."""

    text: str
    time_spent_minutes: int
    remote_session: bool = False
    data_correction: bool = False
    training: bool = False
    doc_reference: str | None = None
    other_remote_service: bool = False


@dataclass(frozen=True)
class Transition:
    """One entry of a ticket's timeline."""

    kind: Literal["submitted", "imported", "accepted", "resolved", "reopened", "closed", "refused"]
    from_status: TicketStatus | None
    to_status: TicketStatus
    at: datetime
    actor_id: uuid.UUID | None
    actor_name: str | None
    note: str | None = None


@dataclass(frozen=True)
class Message:
    """One message of the correspondence; `internal` notes are for vendor staff only."""

    id: uuid.UUID
    ticket_id: uuid.UUID
    author_id: uuid.UUID | None
    author_name: str
    author_role: AuthorRole
    internal: bool
    body: str
    posted_at: datetime


@dataclass(frozen=True, kw_only=True)
class NewTicket:
    """What is known when a ticket is opened, before it has a number."""

    id: uuid.UUID
    org_id: uuid.UUID
    requester: Person
    channel: Channel
    topic: Topic
    subject: str
    body: str
    program: str | None
    submitted_at: datetime
    recorded_by: uuid.UUID | None
    legacy_reference: str | None = None


@dataclass(frozen=True, kw_only=True)
class Ticket(NewTicket):
    """A stored ticket: what it was opened with, its number, and where its life cycle stands."""

    number: int
    status: TicketStatus
    version: int
    assignee: Person | None = None
    accepted_at: datetime | None = None
    resolution: Resolution | None = None
    resolved_at: datetime | None = None
    resolved_by: uuid.UUID | None = None
    closed_at: datetime | None = None
    refused_at: datetime | None = None
    reopen_count: int = 0
    decision: Decision | None = None
    decision_stage: DecisionStage | None = None
    decision_version: int = 0
    decision_reasons: tuple[RuleHit, ...] = ()
    policy_version: str | None = None
    deferred_until: datetime | None = None
    decided_at: datetime | None = None

    @property
    def available_from(self) -> datetime:
        """When a consultant may take it from the waiting list: after the policy's deferral
        (outside working hours), else from its submission. The waiting list is in this order,
        then by number; the database keeps the same as the `available_from` column."""
        return self.deferred_until or self.submitted_at

    def ready(self, now: datetime) -> bool:
        """Whether it may be taken from the waiting list now."""
        return self.status == "waiting" and self.available_from <= now

    def reopen_until(self, rules: LifecycleRules) -> datetime | None:
        """Until when the customer may reopen it (only while it is resolved)."""
        if self.status != "resolved" or self.resolved_at is None:
            return None
        return self.resolved_at + rules.reopen_window


@dataclass(frozen=True)
class QueuePlace:
    """Where a waiting ticket stands (1 = next). The tickets ahead are counted up to
    `QUEUE_COUNT_LIMIT`: behind more, `position` is a lower bound and `exact` is false."""

    position: int
    exact: bool


QUEUE_COUNT_LIMIT = 100


@dataclass(frozen=True)
class Change:
    """The outcome of a life-cycle step: the new state, its timeline entry, the event."""

    ticket: Ticket
    transition: Transition
    event: EventModel


def open_ticket(
    *,
    requester: Person,
    org_id: uuid.UUID,
    subject: str,
    body: str,
    program: str | None,
    topic: Topic,
    channel: Channel,
    recorded_by: uuid.UUID | None,
    recorder_is_staff: bool,
    now: datetime,
    received_at: datetime | None = None,
    rules: LifecycleRules | None = None,
) -> NewTicket:
    """Open a ticket. Only consultants record phone or e-mail tickets, on a customer's behalf,
    and may say when the customer called or wrote (`received_at`): that is its submission time
    for the waiting list and the policy. A portal ticket is always submitted `now`."""
    if channel != "portal" and not recorder_is_staff:
        raise NotAllowedError("Only consultants record tickets received by phone or e-mail.")
    if channel == "portal" and recorder_is_staff:
        raise TicketError(
            "Consultants record tickets with channel 'phone' or 'email' on a customer's behalf."
        )
    if not subject.strip() or not body.strip():
        raise TicketError("A ticket needs a subject and a description.")
    submitted_at = now
    if received_at is not None:
        submitted_at = _received_time(channel, received_at, now, rules or LifecycleRules())
    return NewTicket(
        id=uuid.uuid4(),
        org_id=org_id,
        requester=requester,
        channel=channel,
        topic=topic,
        subject=subject.strip(),
        body=body.strip(),
        program=program.strip() if program else None,
        submitted_at=submitted_at,
        recorded_by=recorded_by,
    )


def _received_time(
    channel: Channel, received_at: datetime, now: datetime, rules: LifecycleRules
) -> datetime:
    if channel == "portal":
        raise TicketError(
            "A portal ticket is submitted now; 'received_at' is for phone and e-mail."
        )
    if received_at > now + rules.received_leeway:
        raise TicketError("'received_at' lies in the future; give the time the customer called.")
    if received_at < now - rules.received_max_age:
        days = rules.received_max_age.days
        raise TicketError(
            f"'received_at' is more than {days} days ago; a ticket is recorded within {days} "
            "days of the call or e-mail."
        )
    return min(received_at, now)


def opening_transition(ticket: Ticket, *, recorded_by_name: str | None = None) -> Transition:
    """The first timeline entry: submitted (or imported from the old portal)."""
    if ticket.legacy_reference is not None:
        return Transition(
            "imported",
            None,
            "waiting",
            ticket.submitted_at,
            None,
            None,
            f"Moved from the old portal ({ticket.legacy_reference}).",
        )
    by_id = ticket.recorded_by or ticket.requester.user_id
    by_name = recorded_by_name if ticket.recorded_by else ticket.requester.display_name
    note = f"Received by {ticket.channel}." if ticket.channel != "portal" else None
    return Transition("submitted", None, "waiting", ticket.submitted_at, by_id, by_name, note)


class Summary(TypedDict):
    """What every ticket event says of its ticket (`contracts.tickets.TicketSummaryEvent`)."""

    ticket_id: uuid.UUID
    number: int
    org_id: uuid.UUID
    requester: Person
    subject: str


def summary(ticket: Ticket) -> Summary:
    """The ticket's part of each of its events."""
    return Summary(
        ticket_id=ticket.id,
        number=ticket.number,
        org_id=ticket.org_id,
        requester=ticket.requester,
        subject=ticket.subject,
    )


def created_event(ticket: Ticket) -> TicketCreated:
    """The event announcing a stored ticket."""
    return TicketCreated(
        **summary(ticket),
        channel=ticket.channel,
        body=ticket.body,
        program=ticket.program,
        submitted_at=ticket.submitted_at,
        recorded_by=ticket.recorded_by,
        topic=ticket.topic,
        legacy_reference=ticket.legacy_reference,
    )


Step = Literal["accepted", "resolved", "reopened", "closed", "refused"]

_PAST: Final[dict[Action, Step]] = {
    "accept": "accepted",
    "resolve": "resolved",
    "close": "closed",
    "reopen": "reopened",
    "refuse": "refused",
}


def _move(ticket: Ticket, action: Action) -> TicketStatus:
    target = TRANSITIONS.get((ticket.status, action))
    if target is None:
        possible = sorted({status for (status, act) in TRANSITIONS if act == action})
        where = " or ".join(_STATUS_WORDS[s] for s in possible)
        raise TransitionError(
            f"Ticket #{ticket.number} is {_STATUS_WORDS[ticket.status]}; "
            f"it can be {_PAST[action]} only while {where}."
        )
    return target


def _moved(
    ticket: Ticket,
    action: Action,
    status: TicketStatus,
    event: EventModel,
    *,
    by: Actor | None,
    now: datetime,
    note: str | None = None,
    **changes: Any,
) -> Change:
    """The step taken (`status` from `_move`): the ticket in its new status, one version on,
    with `changes`; its timeline entry, by `by` (None: the system), and its event."""
    updated = replace(ticket, status=status, version=ticket.version + 1, **changes)
    person = by.person if by else None
    transition = Transition(
        _PAST[action],
        ticket.status,
        status,
        now,
        person.user_id if person else None,
        person.display_name if person else None,
        note,
    )
    return Change(updated, transition, event)


def _require_staff(actor: Actor, what: str) -> None:
    if not actor.is_staff:
        raise NotAllowedError(f"Only consultants {what}.")


def _require_same_org(ticket: Ticket, actor: Actor) -> None:
    # Reads are already filtered by organization; this guards the rule itself.
    if not actor.is_staff and actor.org_id != ticket.org_id:
        raise NotAllowedError("This ticket belongs to another organization.")


def accept(ticket: Ticket, actor: Actor, *, now: datetime) -> Change:
    """A consultant takes the ticket from the waiting list into work."""
    _require_staff(actor, "accept tickets into work")
    status = _move(ticket, "accept")
    event = TicketAccepted(**summary(ticket), consultant=actor.person, accepted_at=now)
    return _moved(
        ticket, "accept", status, event, by=actor, now=now, assignee=actor.person, accepted_at=now
    )


def resolve(ticket: Ticket, actor: Actor, resolution: Resolution, *, now: datetime) -> Change:
    """A consultant resolves the ticket in work, recording the answer and the work it took."""
    _require_staff(actor, "resolve tickets")
    if not resolution.text.strip():
        raise TicketError("A resolution needs a text the customer can read.")
    if resolution.time_spent_minutes < 0:
        raise TicketError("The time spent cannot be negative.")
    status = _move(ticket, "resolve")
    event = TicketResolved(
        ticket_id=ticket.id,
        org_id=ticket.org_id,
        resolved_at=now,
        resolved_by=actor.person.user_id,
        resolution=resolution.text,
        time_spent_minutes=resolution.time_spent_minutes,
        remote_session=resolution.remote_session,
        data_correction=resolution.data_correction,
        training=resolution.training,
        doc_reference=resolution.doc_reference,
        other_remote_service=resolution.other_remote_service,
        number=ticket.number,
        requester=ticket.requester,
        subject=ticket.subject,
        consultant=actor.person,
    )
    return _moved(
        ticket,
        "resolve",
        status,
        event,
        by=actor,
        now=now,
        note=resolution.text,
        resolution=resolution,
        resolved_at=now,
        resolved_by=actor.person.user_id,
    )


def reopen(
    ticket: Ticket, actor: Actor, *, reason: str, now: datetime, rules: LifecycleRules
) -> Change:
    """The customer reopens a resolved ticket within the window; the same consultant takes it up."""
    if actor.is_staff:
        raise NotAllowedError("Only the customer reopens a resolved ticket.")
    _require_same_org(ticket, actor)
    if not reason.strip():
        raise TicketError("Say why the ticket is reopened.")
    status = _move(ticket, "reopen")
    until = ticket.reopen_until(rules)
    if until is not None and now > until:
        raise TransitionError(
            f"Ticket #{ticket.number} can no longer be reopened: the window of "
            f"{rules.reopen_window.days} days after resolution ended on {until.isoformat()}. "
            "Please submit a new ticket."
        )
    event = TicketReopened(
        **summary(ticket),
        reopened_by=actor.person,
        reopened_at=now,
        reason=reason.strip(),
        consultant=ticket.assignee,
    )
    return _moved(
        ticket,
        "reopen",
        status,
        event,
        by=actor,
        now=now,
        note=reason.strip(),
        resolution=None,
        resolved_at=None,
        resolved_by=None,
        reopen_count=ticket.reopen_count + 1,
    )


def close(ticket: Ticket, actor: Actor | None, *, now: datetime, rules: LifecycleRules) -> Change:
    """Close a resolved ticket: a person confirms it, or (actor None) the reopening window ended."""
    if actor is not None:
        _require_same_org(ticket, actor)
    status = _move(ticket, "close")
    if actor is None:
        until = ticket.reopen_until(rules)
        if until is None or now <= until:
            raise TransitionError(
                f"Ticket #{ticket.number} may still be reopened; it closes itself after "
                f"{rules.reopen_window.days} days."
            )
    event = TicketClosed(
        **summary(ticket), closed_at=now, closed_by=actor.person.user_id if actor else None
    )
    note = None if actor else "Closed after the reopening window ended."
    return _moved(ticket, "close", status, event, by=actor, now=now, note=note, closed_at=now)


def record_decision(
    ticket: Ticket, classified: TicketClassified, *, decision_version: int, now: datetime
) -> list[tuple[Ticket, EventModel, Transition | None]]:
    """Record billing's decision; a refusal also moves a waiting or in-work ticket to refused.

    Returns the steps in order (each a new ticket state, its event, and its timeline entry if the
    status changed), or nothing when the decision is not newer than the one recorded.
    """
    if classified.ticket_id != ticket.id or classified.org_id != ticket.org_id:
        raise TicketError(f"decision about ticket {classified.ticket_id} given for {ticket.id}")
    if decision_version <= ticket.decision_version:
        return []
    recorded = replace(
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
    steps: list[tuple[Ticket, EventModel, Transition | None]] = [
        (
            recorded,
            TicketDecisionRecorded(
                **summary(ticket),
                stage=classified.stage,
                decision=classified.decision,
                reasons=classified.reasons,
                policy_version=classified.policy_version,
                deferred_until=classified.deferred_until,
            ),
            None,
        )
    ]
    if classified.decision == "refused" and (recorded.status, "refuse") in TRANSITIONS:
        status = _move(recorded, "refuse")
        refusals = [r for r in classified.reasons if r.effect == "refused"]
        note = "; ".join(f"{r.code}: {r.explanation}" for r in refusals) or None
        event = TicketRefused(
            **summary(ticket),
            refused_at=now,
            reasons=classified.reasons,
            policy_version=classified.policy_version,
        )
        refused = _moved(
            recorded, "refuse", status, event, by=None, now=now, note=note, refused_at=now
        )
        steps.append((refused.ticket, refused.event, refused.transition))
    return steps


def post_message(
    ticket: Ticket,
    actor: Actor,
    *,
    body: str,
    internal: bool,
    now: datetime,
    attachment_ids: tuple[uuid.UUID, ...] = (),
) -> tuple[Ticket, Message, TicketMessagePosted]:
    """Add a message to the correspondence; only consultants write internal notes. The files it
    carries (`attachment_ids`) are checked by `services.tickets.attachments.for_message`."""
    _require_same_org(ticket, actor)
    if internal and not actor.is_staff:
        raise NotAllowedError("Only consultants write internal notes.")
    if not body.strip():
        raise TicketError("A message needs a text.")
    if ticket.status == "closed":
        raise TransitionError(
            f"Ticket #{ticket.number} is closed; please submit a new ticket to continue."
        )
    message = Message(
        id=uuid.uuid4(),
        ticket_id=ticket.id,
        author_id=actor.person.user_id,
        author_name=actor.person.display_name,
        author_role=actor.role,
        internal=internal,
        body=body.strip(),
        posted_at=now,
    )
    updated = replace(ticket, version=ticket.version + 1)
    event = TicketMessagePosted(
        **summary(ticket),
        message_id=message.id,
        author=actor.person,
        author_role=actor.role,
        internal=internal,
        body=message.body,
        posted_at=now,
        attachment_ids=attachment_ids,
    )
    return updated, message, event
