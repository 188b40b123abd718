"""HTTP routes of vendor admins about who may see what, as the ERP (licences) and the training
system (training orders) would say it: each change recorded with its day, and the history."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from contracts.content import PROGRAM, TRAINING_ID
from services.content import entitlement_repository
from services.content.entitlement_repository import LicenceChange, TrainingOrderChange
from services.content.views import PREFIX, today
from services.runtime.app import CurrentClock, Pool
from services.runtime.identity import VendorAdmin
from services.runtime.moments import Day, Moment

router = APIRouter(prefix=PREFIX, tags=["content administration"])


class LicenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    program: str = PROGRAM
    licensed: bool
    valid_from: Day


class TrainingOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    training_id: str = TRAINING_ID
    ordered: bool
    as_of: Moment | None = Field(default=None, description="When it became true; default now.")


class LicencesOut(BaseModel):
    org_id: uuid.UUID
    licensed_today: list[str]
    changes: list[dict[str, Any]] = Field(description="Every change, by program, newest first.")


class TrainingOrdersOut(BaseModel):
    org_id: uuid.UUID
    changes: list[dict[str, Any]]


@router.post("/organizations/{org_id}/licences", status_code=201)
async def record_licence(
    org_id: uuid.UUID, body: LicenceIn, principal: VendorAdmin, pool: Pool, clock: CurrentClock
) -> dict[str, str]:
    """Record a licence change (as the ERP would): licensed for the program from `valid_from`,
    or no longer from that day."""
    change = LicenceChange(
        **body.model_dump(), source=f"admin:{principal.user_id}", recorded_at=clock.now()
    )
    async with pool.acquire() as conn:
        await entitlement_repository.record_change(conn, org_id=org_id, change=change)
    return {"status": "recorded"}


@router.get("/organizations/{org_id}/licences", response_model=LicencesOut)
async def licences(
    org_id: uuid.UUID, principal: VendorAdmin, pool: Pool, clock: CurrentClock
) -> LicencesOut:
    async with pool.acquire() as conn:
        licensed = await entitlement_repository.licensed_programs(conn, org_id, today(clock))
        changes = await entitlement_repository.changes(conn, LicenceChange, org_id)
    return LicencesOut(org_id=org_id, licensed_today=licensed, changes=[vars(c) for c in changes])


@router.post("/organizations/{org_id}/training-orders", status_code=201)
async def record_training_order(
    org_id: uuid.UUID,
    body: TrainingOrderIn,
    principal: VendorAdmin,
    pool: Pool,
    clock: CurrentClock,
) -> dict[str, str]:
    """Record that the organization ordered a training, or no longer (as the training system
    would)."""
    now = clock.now()
    change = TrainingOrderChange(
        body.training_id, body.ordered, body.as_of or now, f"admin:{principal.user_id}", now
    )
    async with pool.acquire() as conn:
        await entitlement_repository.record_change(conn, org_id=org_id, change=change)
    return {"status": "recorded"}


@router.get("/organizations/{org_id}/training-orders", response_model=TrainingOrdersOut)
async def training_orders(
    org_id: uuid.UUID, principal: VendorAdmin, pool: Pool
) -> TrainingOrdersOut:
    async with pool.acquire() as conn:
        changes = await entitlement_repository.changes(conn, TrainingOrderChange, org_id)
    return TrainingOrdersOut(org_id=org_id, changes=[vars(c) for c in changes])
