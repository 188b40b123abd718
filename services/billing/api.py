"""HTTP routes of the billing service."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.common import Decision, DecisionStage, RuleHit
from services.billing import decision_repository, handlers, inputs_repository, repository
from services.billing.policy import (
    Arrangement,
    Onboarding,
    PolicyParameters,
    Standing,
    describe_rules,
)
from services.runtime.app import CurrentClock, Pool
from services.runtime.identity import CurrentPrincipal, VendorAdmin, VendorStaff
from services.runtime.local_time import LOCAL_ZONE, LOCAL_ZONE_NAME, local
from services.runtime.moments import EARLIEST, LATEST, Moment


async def _policy(request: Request) -> PolicyParameters:
    params: PolicyParameters = request.app.state.policy
    return params


Policy = Annotated[PolicyParameters, Depends(_policy)]


class DecisionOut(BaseModel):
    ticket_id: uuid.UUID
    version: int
    stage: DecisionStage
    decision: Decision
    reasons: list[RuleHit]
    policy_version: str
    deferred_until: datetime | None
    decided_at: datetime
    overridden_by: uuid.UUID | None
    justification: str | None


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    decision: Decision
    justification: Annotated[str, Field(min_length=10, max_length=2000)]


class StandingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    has_unpaid_obligations: bool
    as_of: Moment | None = None
    """When the standing became true (default: now); decisions follow `as_of`, not arrival."""


class OnboardingIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    user_id: uuid.UUID
    program: Annotated[str, Field(min_length=1, max_length=100)]
    kind: Literal["onboarding", "seminar"] = "onboarding"
    completed_on: date
    organization_setup_done: bool
    as_of: Moment | None = None
    """When the record became true (default: the start of `completed_on`, Ljubljana time)."""


class ArrangementIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    valid_from: Moment
    valid_until: Moment
    agreed_by: Annotated[str, Field(min_length=1, max_length=200)]
    note: Annotated[str | None, Field(max_length=2000)] = None

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> ArrangementIn:
        if self.valid_until <= self.valid_from:
            raise ValueError("'valid_until' must be after 'valid_from'")
        return self


class StatementLineOut(BaseModel):
    ticket_id: uuid.UUID
    number: int
    subject: str
    resolved_at: datetime
    minutes: int
    reasons: list[RuleHit]
    policy_version: str


class StatementOut(BaseModel):
    org_id: uuid.UUID
    month: str
    lines: list[StatementLineOut]
    total_minutes: int
    issued: bool | None = None


router = APIRouter(prefix="/api/billing", tags=["billing"])


def _out(d: decision_repository.StoredDecision) -> DecisionOut:
    return DecisionOut(
        ticket_id=d.ticket_id,
        version=d.version,
        stage=d.stage,
        decision=d.decision,
        reasons=list(d.reasons),
        policy_version=d.policy_version,
        deferred_until=d.deferred_until,
        decided_at=d.decided_at,
        overridden_by=d.overridden_by,
        justification=d.justification,
    )


class RuleOut(BaseModel):
    code: str
    effect: Literal["refused", "paid", "free"]
    stages: list[Literal["provisional", "final"]]
    description: str
    description_sl: str


@router.get("/rules")
async def rules(principal: CurrentPrincipal, policy: Policy) -> dict[str, Any]:
    """The policy in force: its version, parameters and every rule, described whole in English
    and Slovenian."""
    return {
        "policy_version": policy.version,
        "parameters": {
            "timezone": policy.timezone,
            "working_hours": f"{policy.work_start:%H:%M}-{policy.work_end:%H:%M}",
            "working_weekdays": sorted(policy.working_weekdays),
            "short_help_minutes": policy.short_help_minutes,
            "new_program_window_days": policy.new_program_window_days,
            "repeat_similarity": policy.repeat_similarity,
        },
        "rules": [
            RuleOut(
                code=rule.code,
                effect=rule.effect,
                stages=list(rule.stages),
                description=rule.en,
                description_sl=rule.sl,
            ).model_dump()
            for rule in describe_rules(policy)
        ],
    }


@router.get("/tickets/{ticket_id}/decisions", response_model=list[DecisionOut])
async def ticket_decisions(
    ticket_id: uuid.UUID, principal: CurrentPrincipal, pool: Pool
) -> list[DecisionOut]:
    """Every decision about one ticket of the caller's organization, oldest first, with reasons."""
    async with pool.acquire() as conn:
        found = await decision_repository.decisions_for_ticket(
            conn, ticket_id=ticket_id, org_id=principal.org_scope
        )
    if not found:
        raise HTTPException(404, "No decision about this ticket (yet).")
    return [_out(d) for d in found]


@router.post("/tickets/{ticket_id}/override", status_code=201, response_model=DecisionOut)
async def override_decision(
    ticket_id: uuid.UUID,
    body: OverrideIn,
    principal: CurrentPrincipal,
    pool: Pool,
    clock: CurrentClock,
) -> DecisionOut:
    """A consultant replaces the decision, with a written justification (published)."""
    try:
        stored = await handlers.override(
            pool,
            principal=principal,
            ticket_id=ticket_id,
            decision=body.decision,
            justification=body.justification,
            now=clock.now(),
        )
    except handlers.NotAllowedError as error:
        raise HTTPException(403, str(error)) from None
    except repository.NotFoundError:
        raise HTTPException(404, "No decision about this ticket (yet).") from None
    return _out(stored)


@router.post("/organizations/{org_id}/standing", status_code=201)
async def record_standing(
    org_id: uuid.UUID,
    body: StandingIn,
    principal: VendorAdmin,
    pool: Pool,
    clock: CurrentClock,
) -> dict[str, str]:
    """Record the organization's account standing (as the ERP would), true from `as_of`."""
    now = clock.now()
    async with pool.acquire() as conn:
        await inputs_repository.record_standing(
            conn,
            org_id=org_id,
            standing=Standing(body.has_unpaid_obligations, body.as_of or now),
            source=f"admin:{principal.user_id}",
            recorded_at=now,
        )
    return {"status": "recorded"}


@router.post("/organizations/{org_id}/onboarding", status_code=201)
async def record_onboarding(
    org_id: uuid.UUID,
    body: OnboardingIn,
    principal: VendorAdmin,
    pool: Pool,
    *,
    clock: CurrentClock,
    policy: Policy,
) -> dict[str, str]:
    """Record that a person was onboarded for a program (as the training system would)."""
    async with pool.acquire() as conn:
        await inputs_repository.record_onboarding(
            conn,
            org_id=org_id,
            record=Onboarding(
                body.user_id,
                body.program,
                body.kind,
                body.completed_on,
                body.organization_setup_done,
            ),
            as_of=handlers.onboarding_as_of(body.completed_on, body.as_of, policy),
            source=f"admin:{principal.user_id}",
            recorded_at=clock.now(),
        )
    return {"status": "recorded"}


@router.post("/organizations/{org_id}/arrangements", status_code=201)
async def record_arrangement(
    org_id: uuid.UUID,
    body: ArrangementIn,
    principal: VendorAdmin,
    pool: Pool,
    clock: CurrentClock,
) -> dict[str, str]:
    """Record an arrangement for help outside working hours (period, who agreed)."""
    async with pool.acquire() as conn:
        await inputs_repository.record_arrangement(
            conn,
            org_id=org_id,
            arrangement=Arrangement(body.valid_from, body.valid_until, body.agreed_by),
            note=body.note,
            recorded_by=principal.user_id,
            recorded_at=clock.now(),
        )
    return {"status": "recorded"}


@router.get("/organizations/{org_id}/inputs")
async def inputs_history(
    org_id: uuid.UUID, principal: VendorStaff, pool: Pool
) -> dict[str, list[dict[str, Any]]]:
    """Every policy input recorded for the organization, newest first (vendor staff)."""
    async with pool.acquire() as conn:
        return await inputs_repository.inputs_history(conn, org_id=org_id)


def _month(value: str) -> date:
    try:
        parsed = datetime.strptime(value, "%Y-%m")
    except ValueError:
        raise HTTPException(422, "The month is written as YYYY-MM, e.g. 2026-11.") from None
    if not EARLIEST.year <= parsed.year < LATEST.year:
        raise HTTPException(422, "The month must lie between the years 1900 and 9000.")
    return date(parsed.year, parsed.month, 1)


def _statement_out(found: handlers.Statement, issued: bool | None = None) -> StatementOut:
    return StatementOut(
        org_id=found.org_id,
        month=f"{found.month:%Y-%m}",
        lines=[
            StatementLineOut(
                ticket_id=line.ticket_id,
                number=line.number,
                subject=line.subject,
                resolved_at=line.resolved_at,
                minutes=line.minutes,
                reasons=list(line.reasons),
                policy_version=line.policy_version,
            )
            for line in found.lines
        ],
        total_minutes=found.total_minutes,
        issued=issued,
    )


def _csv(found: handlers.Statement) -> str:
    """The statement for the ERP; times are Ljubljana wall-clock times with their UTC offset, and
    the `time_zone` column names the zone."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["org_id", "month", "ticket_number", "ticket_id", "subject", "resolved_at",
                     "time_zone", "minutes", "rule_codes", "policy_version"])  # fmt: skip
    for line in found.lines:
        writer.writerow(
            [
                found.org_id,
                f"{found.month:%Y-%m}",
                line.number,
                line.ticket_id,
                line.subject,
                local(line.resolved_at, LOCAL_ZONE).isoformat(),
                LOCAL_ZONE_NAME,
                line.minutes,
                " ".join(r.code for r in line.reasons),
                line.policy_version,
            ]
        )
    return out.getvalue()


@router.get("/statements/{org_id}/{month}", response_model=StatementOut)
async def get_statement(
    org_id: uuid.UUID,
    month: str,
    principal: CurrentPrincipal,
    pool: Pool,
    *,
    policy: Policy,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> StatementOut | Response:
    """The organization's paid help in a month (YYYY-MM): JSON, or CSV for the ERP."""
    if principal.org_scope is not None and principal.org_scope != org_id:
        raise HTTPException(404, "No such organization.")
    async with pool.acquire() as conn:
        found = await handlers.statement(conn, org_id=org_id, month=_month(month), params=policy)
    if format == "csv":
        return Response(_csv(found), media_type="text/csv; charset=utf-8")
    return _statement_out(found)


@router.post("/statements/{org_id}/{month}/issue", response_model=StatementOut)
async def issue_statement(
    org_id: uuid.UUID,
    month: str,
    principal: CurrentPrincipal,
    pool: Pool,
    policy: Policy,
    *,
    clock: CurrentClock,
) -> StatementOut:
    """Publish the month's statement to the ERP (`StatementIssued`), once."""
    try:
        found, issued = await handlers.issue_statement(
            pool,
            principal=principal,
            org_id=org_id,
            month=_month(month),
            params=policy,
            now=clock.now(),
        )
    except handlers.NotAllowedError as error:
        raise HTTPException(403, str(error)) from None
    return _statement_out(found, issued)
