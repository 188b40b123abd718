"""Policy inputs other internal systems publish for the billing service.

- The ERP: an organization's account standing (topic `erp.events`, key = organization id).
- The training system: who was onboarded for which program (topic `training.events`, key =
  the person's user id).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from contracts.common import ORG_ID, EventKey, EventModel
from contracts.topics import ERP_EVENTS, TRAINING_EVENTS


class OrganizationStandingChanged(EventModel):
    """Whether the organization has overdue unpaid obligations, true from `as_of` (R-ARREARS).

    Billing judges a ticket by the standing in force at its submission and resolution, by
    `as_of`, whatever order the messages arrive in."""

    EVENT_TYPE: ClassVar[str] = "OrganizationStandingChanged"
    EVENT_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = ERP_EVENTS
    KEY: ClassVar[EventKey | None] = ORG_ID

    org_id: uuid.UUID
    has_unpaid_obligations: bool
    as_of: AwareDatetime


class OnboardingRecorded(EventModel):
    """A person was onboarded (or attended a seminar) for a program (R-NOT-ONBOARDED,
    F-NEW-PROGRAM); `organization_setup_done` says whether the organization's settings were
    configured then (P-NO-SETUP)."""

    EVENT_TYPE: ClassVar[str] = "OnboardingRecorded"
    EVENT_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = TRAINING_EVENTS
    KEY: ClassVar[EventKey | None] = EventKey("user_id", "the person's user id")

    org_id: uuid.UUID
    user_id: uuid.UUID
    program: str = Field(min_length=1, max_length=100)
    kind: Literal["onboarding", "seminar"] = "onboarding"
    completed_on: date
    organization_setup_done: bool
    as_of: AwareDatetime | None = None
    """When the record became true; without it, the start of `completed_on` in Ljubljana."""
