"""Use cases of the monthly statements: the paid help an organization received in a month,
and publishing it to the ERP once (`StatementIssued`)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import asyncpg
import structlog

from contracts.billing import StatementIssued, StatementLine
from services.billing import decision_repository
from services.billing.handlers import SOURCE, NotAllowedError
from services.billing.policy import PolicyParameters
from services.runtime.db import Connection
from services.runtime.identity import Principal
from services.runtime.outbox import emit

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class Statement:
    org_id: uuid.UUID
    month: date
    lines: list[decision_repository.StatementRow]

    @property
    def total_minutes(self) -> int:
        return sum(line.minutes for line in self.lines)


def month_bounds(month: date, zone: str) -> tuple[datetime, datetime]:
    """The month as local (Ljubljana) midnight to midnight."""
    tz = ZoneInfo(zone)
    start = datetime(month.year, month.month, 1, tzinfo=tz)
    nxt = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return start, datetime(nxt.year, nxt.month, 1, tzinfo=tz)


async def statement(
    conn: Connection, *, org_id: uuid.UUID, month: date, params: PolicyParameters
) -> Statement:
    """The organization's paid tickets resolved in the month, with minutes and reasons."""
    start, end = month_bounds(month, params.timezone)
    lines = await decision_repository.paid_in_month(conn, org_id=org_id, start=start, end=end)
    return Statement(org_id, month, lines)


async def issue_statement(
    pool: asyncpg.Pool,
    *,
    principal: Principal,
    org_id: uuid.UUID,
    month: date,
    params: PolicyParameters,
    now: datetime,
) -> tuple[Statement, bool]:
    """Publish the month's statement for the ERP once; (statement, whether it was issued now)."""
    if "vendor_admin" not in principal.roles:
        raise NotAllowedError("Only vendor administrators issue statements.")
    async with pool.acquire() as conn, conn.transaction():
        found = await statement(conn, org_id=org_id, month=month, params=params)
        if not await decision_repository.mark_statement_issued(
            conn, org_id=org_id, month=month, issued_by=principal.user_id, issued_at=now
        ):
            return found, False
        await emit(
            conn,
            StatementIssued(
                org_id=org_id,
                month=month,
                lines=tuple(
                    StatementLine(
                        ticket_id=line.ticket_id,
                        number=line.number,
                        subject=line.subject,
                        resolved_at=line.resolved_at,
                        minutes=line.minutes,
                        codes=tuple(r.code for r in line.reasons),
                    )
                    for line in found.lines
                ),
                total_minutes=found.total_minutes,
                policy_versions=tuple(sorted({line.policy_version for line in found.lines})),
            ),
            source=SOURCE,
            aggregate_id=org_id,
            aggregate_version=month.year * 100 + month.month,
            org_id=org_id,
            occurred_at=now,
        )
    log.info(
        "statement issued", org_id=str(org_id), month=month.isoformat(), lines=len(found.lines)
    )
    return found, True
