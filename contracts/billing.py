"""Events the billing-policy service publishes (topic `billing.events`, key = ticket id)."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import AwareDatetime

from contracts.common import Decision, DecisionStage, EventModel, RuleHit


class TicketClassified(EventModel):
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
