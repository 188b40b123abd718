"""The billing service's HTTP shapes: what a request may carry and what an answer holds, the
statement's CSV for the ERP included (the routes are in api.py)."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.common import Decision, DecisionStage, RuleHit
from services.billing import decision_repository, statements
from services.billing.policy import Arrangement
from services.runtime.local_time import LOCAL_ZONE, LOCAL_ZONE_NAME, local
from services.runtime.moments import Moment


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

    @classmethod
    def of(cls, stored: decision_repository.StoredDecision) -> DecisionOut:
        return cls(**vars(stored))


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

    def arrangement(self) -> Arrangement:
        return Arrangement(self.valid_from, self.valid_until, self.agreed_by)


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

    @classmethod
    def of(cls, found: statements.Statement, issued: bool | None = None) -> StatementOut:
        return cls(
            org_id=found.org_id,
            month=f"{found.month:%Y-%m}",
            lines=[StatementLineOut(**vars(line)) for line in found.lines],
            total_minutes=found.total_minutes,
            issued=issued,
        )


def statement_csv(found: statements.Statement) -> str:
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


class RuleOut(BaseModel):
    code: str
    effect: Literal["refused", "paid", "free"]
    stages: list[Literal["provisional", "final"]]
    description: str
    description_sl: str
