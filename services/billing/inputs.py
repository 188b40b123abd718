"""Use cases of the policy's inputs from other systems: the ERP's account standing and the
training system's onboarding records, from their events or from a vendor admin who says the
same; each true from its `as_of`, appended, never changed (docs/time.md)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

import structlog

from contracts.policy_inputs import OnboardingRecorded, OrganizationStandingChanged
from services.billing import inputs_repository
from services.billing.policy import Onboarding, PolicyParameters, Standing
from services.runtime.consumer import HandlerContext
from services.runtime.db import Connection

log = structlog.get_logger(__name__)


async def on_standing_changed(ctx: HandlerContext, event: OrganizationStandingChanged) -> None:
    """The ERP's account standing of an organization (R-ARREARS), true from `as_of`."""
    await inputs_repository.record_standing(
        ctx.conn,
        org_id=event.org_id,
        standing=Standing(event.has_unpaid_obligations, event.as_of),
        source="erp",
        recorded_at=ctx.clock.now(),
        source_event_id=ctx.envelope.event_id,
    )
    log.debug("standing recorded", org_id=str(event.org_id), as_of=event.as_of.isoformat())


def onboarding_as_of(
    completed_on: date, as_of: datetime | None, params: PolicyParameters
) -> datetime:
    """When an onboarding record became true: the moment the training system names, else the
    start of the day it was completed (local time)."""
    if as_of is not None:
        return as_of
    return datetime.combine(completed_on, time(0), tzinfo=ZoneInfo(params.timezone))


class OnboardingReport(Protocol):
    """A person onboarded for a program, as the training system reports it (an event, or a
    vendor admin's request that says the same)."""

    @property
    def user_id(self) -> uuid.UUID: ...
    @property
    def program(self) -> str: ...
    @property
    def kind(self) -> Literal["onboarding", "seminar"]: ...
    @property
    def completed_on(self) -> date: ...
    @property
    def organization_setup_done(self) -> bool: ...
    @property
    def as_of(self) -> datetime | None: ...


async def record_onboarding(
    conn: Connection,
    report: OnboardingReport,
    *,
    org_id: uuid.UUID,
    params: PolicyParameters,
    source: str,
    recorded_at: datetime,
    source_event_id: uuid.UUID | None = None,
) -> None:
    """Append the onboarding record, true from `as_of` (`onboarding_as_of`)."""
    await inputs_repository.record_onboarding(
        conn,
        org_id=org_id,
        record=Onboarding(
            report.user_id,
            report.program,
            report.kind,
            report.completed_on,
            report.organization_setup_done,
        ),
        as_of=onboarding_as_of(report.completed_on, report.as_of, params),
        source=source,
        recorded_at=recorded_at,
        source_event_id=source_event_id,
    )


async def on_onboarding_recorded(
    ctx: HandlerContext, event: OnboardingRecorded, params: PolicyParameters
) -> None:
    """The training system's record of a person onboarded for a program."""
    await record_onboarding(
        ctx.conn,
        event,
        org_id=event.org_id,
        params=params,
        source="training",
        recorded_at=ctx.clock.now(),
        source_event_id=ctx.envelope.event_id,
    )
