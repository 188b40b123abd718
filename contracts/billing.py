"""Events the billing-policy service publishes (topic `billing.events`; key = ticket id, or the
organization id for statements)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar

from pydantic import AwareDatetime, Field

from contracts.common import (
    ORG_ID,
    TICKET_ID,
    Decision,
    DecisionStage,
    EventKey,
    EventModel,
    RuleHit,
)
from contracts.topics import BILLING_EVENTS


class BillingEvent(EventModel):
    """An event on `billing.events`, keyed by its ticket (a statement by its organization)."""

    TOPIC: ClassVar[str] = BILLING_EVENTS
    KEY: ClassVar[EventKey | None] = TICKET_ID


class TicketClassified(BillingEvent):
    """The support policy decided whether help on a ticket is free, paid or refused, and why.

    `stage` is `provisional` at creation and `final` at resolution; the envelope's aggregate
    version grows with each decision so a reader can ignore an older one.
    """

    EVENT_TYPE: ClassVar[str] = "TicketClassified"
    EVENT_VERSION: ClassVar[int] = 1

    ticket_id: uuid.UUID
    org_id: uuid.UUID
    stage: DecisionStage
    decision: Decision
    reasons: tuple[RuleHit, ...]
    policy_version: str
    decided_at: AwareDatetime
    deferred_until: AwareDatetime | None = None
    overridden_by: uuid.UUID | None = None
    """Set when a consultant overrode the policy's decision; `justification` says why."""
    justification: str | None = Field(default=None, max_length=2000)


class StatementLine(EventModel):
    """One paid ticket on a monthly statement."""

    ticket_id: uuid.UUID
    number: int = Field(ge=1)
    subject: str
    resolved_at: AwareDatetime
    minutes: int = Field(ge=0)
    codes: tuple[str, ...]


class StatementIssued(BillingEvent):
    """An organization's paid help in one month, for the ERP to invoice (key = organization id)."""

    EVENT_TYPE: ClassVar[str] = "StatementIssued"
    EVENT_VERSION: ClassVar[int] = 1
    KEY: ClassVar[EventKey | None] = ORG_ID

    org_id: uuid.UUID
    month: date
    """The first day of the month."""
    lines: tuple[StatementLine, ...]
    total_minutes: int = Field(ge=0)
    policy_versions: tuple[str, ...]
