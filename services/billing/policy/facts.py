"""What the support policy judges: its versioned parameters, the facts of a ticket, what other
systems told us (inputs, and their history by when each became true) and the work recorded at
resolution. Plain data, no rules."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime, time
from typing import Any, Literal

from contracts.common import Channel, Topic
from services.billing.working_time import WorkingCalendar


@dataclass(frozen=True)
class PolicyParameters:
    """Named, versioned policy inputs; a change of any value gets a new `version`."""

    version: str = "2026.11.1"
    timezone: str = "Europe/Ljubljana"
    work_start: time = time(8, 0)
    work_end: time = time(16, 0)
    working_weekdays: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    short_help_minutes: int = 15
    """F-SHORT-USAGE up to this many minutes; P-COMPLEX beyond."""
    new_program_window_days: int = 90
    """F-NEW-PROGRAM: how long after onboarding (or a seminar) a program counts as new."""
    repeat_similarity: float = 0.35
    """P-REPEAT: trigram similarity of the texts from which an earlier ticket is "the same"."""
    regulation_topics: frozenset[str] = frozenset({"legislation", "business_organization"})

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(
            timezone=self.timezone,
            start=self.work_start,
            end=self.work_end,
            weekdays=self.working_weekdays,
        )


@dataclass(frozen=True)
class TicketFacts:
    """What is known about a ticket when it is created."""

    channel: Channel
    submitted_at: datetime
    requester_id: uuid.UUID | None = None
    topic: Topic = "other"
    program: str | None = None


@dataclass(frozen=True)
class Standing:
    """The organization's account standing from the ERP, as of a moment."""

    has_unpaid_obligations: bool
    as_of: datetime


@dataclass(frozen=True)
class Onboarding:
    """A person onboarded (or at a seminar) for a program, from the training system."""

    user_id: uuid.UUID
    program: str
    kind: Literal["onboarding", "seminar"]
    completed_on: date
    organization_setup_done: bool


@dataclass(frozen=True)
class Arrangement:
    """A prior arrangement for help outside working hours."""

    valid_from: datetime
    valid_until: datetime
    agreed_by: str

    def covers(self, moment: datetime) -> bool:
        return self.valid_from <= moment < self.valid_until


@dataclass(frozen=True)
class EarlierTicket:
    """The same organization's earlier ticket that looks like the same question."""

    ticket_id: uuid.UUID
    number: int
    subject: str
    similarity: float
    same_requester: bool


@dataclass(frozen=True)
class PolicyInputs:
    """What other systems told us about the organization and the person (as known at the time)."""

    standing: Standing | None = None
    onboarding: tuple[Onboarding, ...] = ()
    """All the organization's records; empty when the training system has sent none."""
    arrangements: tuple[Arrangement, ...] = ()
    earlier: EarlierTicket | None = None
    """The most similar earlier ticket, if any reaches the threshold."""


def as_record(inputs: PolicyInputs) -> dict[str, Any]:
    """The inputs as `dataclasses.asdict` gives them (nested dicts, tuples kept), without its
    deep copy of every value: these hold only immutable values (times, ids, strings), and the
    copy was 13 % of billing's CPU in a catch-up profile."""
    record = _plain(inputs)
    assert isinstance(record, dict)
    return record


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(item) for item in value)
    return value


@dataclass(frozen=True)
class InputsHistory:
    """An organization's recorded inputs in arrival order, each with the moment it became
    true: a standing from its `as_of`, an onboarding record from its `as_of`, an arrangement
    from when it was recorded."""

    standing: tuple[Standing, ...] = ()
    onboarding: tuple[tuple[datetime, Onboarding], ...] = ()
    arrangements: tuple[tuple[datetime, Arrangement], ...] = ()

    def in_force(self, at: datetime) -> PolicyInputs:
        """The inputs true at `at`, whatever order they arrived in: the standing with the
        latest `as_of` not after `at` (of equal ones, the last to arrive), the onboarding
        records true by then, and the arrangements agreed by then."""
        standing = None
        for candidate in self.standing:
            if candidate.as_of <= at and (standing is None or candidate.as_of >= standing.as_of):
                standing = candidate
        return PolicyInputs(
            standing=standing,
            onboarding=tuple(record for true_from, record in self.onboarding if true_from <= at),
            arrangements=tuple(a for agreed_at, a in self.arrangements if agreed_at <= at),
        )


@dataclass(frozen=True)
class WorkFacts:
    """What the consultant recorded at resolution: billing's own shape of the tickets service's
    `TicketResolved` (the policy reads `minutes`, not the wire's `time_spent_minutes`)."""

    resolved_at: datetime
    minutes: int
    remote_session: bool = False
    data_correction: bool = False
    training: bool = False
    doc_reference: str | None = None
    other_remote_service: bool = False
