"""HTTP routes of the billing service."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from services.billing import (
    decision_repository,
    handlers,
    inputs,
    inputs_repository,
    repository,
    statements,
)
from services.billing.api_models import (
    ArrangementIn,
    DecisionOut,
    OnboardingIn,
    OverrideIn,
    RuleOut,
    StandingIn,
    StatementOut,
    statement_csv,
)
from services.billing.policy import PolicyParameters, Standing, describe_rules
from services.runtime.app import CurrentClock, Pool
from services.runtime.identity import CurrentPrincipal, VendorAdmin, VendorStaff
from services.runtime.moments import EARLIEST, LATEST
from services.runtime.problems import DomainErrors


async def _policy(request: Request) -> PolicyParameters:
    params: PolicyParameters = request.app.state.policy
    return params


Policy = Annotated[PolicyParameters, Depends(_policy)]


DOMAIN_ERRORS: DomainErrors = {
    repository.NotFoundError: (404, "No decision about this ticket (yet)."),
    handlers.NotAllowedError: 403,
}
"""The billing rules' refusals and the problems they are answered with (services/runtime/
problems.py); the routes let them out. Billing knows a ticket by its decisions, so a ticket it
does not know has none yet."""

router = APIRouter(prefix="/api/billing", tags=["billing"])


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
        raise repository.NotFoundError(str(ticket_id))
    return [DecisionOut.of(d) for d in found]


@router.post("/tickets/{ticket_id}/override", status_code=201, response_model=DecisionOut)
async def override_decision(
    ticket_id: uuid.UUID,
    body: OverrideIn,
    principal: CurrentPrincipal,
    pool: Pool,
    clock: CurrentClock,
) -> DecisionOut:
    """A consultant replaces the decision, with a written justification (published)."""
    stored = await handlers.override(
        pool,
        principal=principal,
        ticket_id=ticket_id,
        decision=body.decision,
        justification=body.justification,
        now=clock.now(),
    )
    return DecisionOut.of(stored)


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
        await inputs.record_onboarding(
            conn,
            body,
            org_id=org_id,
            params=policy,
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
            arrangement=body.arrangement(),
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
        found = await statements.statement(conn, org_id=org_id, month=_month(month), params=policy)
    if format == "csv":
        return Response(statement_csv(found), media_type="text/csv; charset=utf-8")
    return StatementOut.of(found)


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
    found, issued = await statements.issue_statement(
        pool,
        principal=principal,
        org_id=org_id,
        month=_month(month),
        params=policy,
        now=clock.now(),
    )
    return StatementOut.of(found, issued)
