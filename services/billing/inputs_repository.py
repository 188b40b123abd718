"""The SQL of the policy's inputs: ERP standing, onboarding and outside-hours arrangements, each
kept with its history (tables `standing_history`, `onboarding_records`, `arrangements`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.billing.policy import (
    Arrangement,
    InputsHistory,
    Onboarding,
    PolicyInputs,
    Standing,
)
from services.runtime.db import Connection


async def record_standing(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    standing: Standing,
    source: str,
    recorded_at: datetime,
    source_event_id: uuid.UUID | None = None,
) -> None:
    """Append the organization's account standing (true from `standing.as_of`) to its history."""
    await conn.execute(
        """INSERT INTO standing_history (org_id, has_unpaid_obligations, as_of, recorded_at,
                                         source, source_event_id)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (source_event_id) DO NOTHING""",
        org_id,
        standing.has_unpaid_obligations,
        standing.as_of,
        recorded_at,
        source,
        source_event_id,
    )


async def record_onboarding(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    record: Onboarding,
    as_of: datetime,
    source: str,
    recorded_at: datetime,
    source_event_id: uuid.UUID | None = None,
) -> None:
    """Append an onboarding record (true from `as_of`)."""
    await conn.execute(
        """INSERT INTO onboarding_records (org_id, user_id, program, kind, completed_on,
                                           organization_setup_done, as_of, recorded_at, source,
                                           source_event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (source_event_id) DO NOTHING""",
        org_id,
        record.user_id,
        record.program,
        record.kind,
        record.completed_on,
        record.organization_setup_done,
        as_of,
        recorded_at,
        source,
        source_event_id,
    )


async def record_arrangement(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    arrangement: Arrangement,
    note: str | None,
    recorded_by: uuid.UUID,
    recorded_at: datetime,
) -> None:
    """Record an arrangement for help outside working hours (agreed at `recorded_at`)."""
    await conn.execute(
        """INSERT INTO arrangements (org_id, valid_from, valid_until, agreed_by, note, recorded_by,
                                     recorded_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        org_id,
        arrangement.valid_from,
        arrangement.valid_until,
        arrangement.agreed_by,
        note,
        recorded_by,
        recorded_at,
    )


async def inputs_histories(
    conn: Connection, *, org_ids: Sequence[uuid.UUID], until: datetime
) -> dict[uuid.UUID, InputsHistory]:
    """The organizations' inputs that became true by `until`, in arrival order (three
    statements however many organizations); `InputsHistory.in_force` picks what held when."""
    query = "SELECT * FROM {} WHERE org_id = ANY($1::uuid[]) AND {} <= $2 ORDER BY id"
    ids = list(org_ids)
    standing = await conn.fetch(query.format("standing_history", "as_of"), ids, until)
    onboarding = await conn.fetch(query.format("onboarding_records", "as_of"), ids, until)
    arrangements = await conn.fetch(query.format("arrangements", "recorded_at"), ids, until)
    found: dict[uuid.UUID, dict[str, list[Any]]] = {
        org_id: {"standing": [], "onboarding": [], "arrangements": []} for org_id in ids
    }
    for r in standing:
        found[r["org_id"]]["standing"].append(Standing(r["has_unpaid_obligations"], r["as_of"]))
    for r in onboarding:
        found[r["org_id"]]["onboarding"].append(
            (
                r["as_of"],
                Onboarding(
                    r["user_id"],
                    r["program"],
                    r["kind"],
                    r["completed_on"],
                    r["organization_setup_done"],
                ),
            )
        )
    for r in arrangements:
        found[r["org_id"]]["arrangements"].append(
            (r["recorded_at"], Arrangement(r["valid_from"], r["valid_until"], r["agreed_by"]))
        )
    return {
        org_id: InputsHistory(
            tuple(lists["standing"]), tuple(lists["onboarding"]), tuple(lists["arrangements"])
        )
        for org_id, lists in found.items()
    }


async def inputs_in_force(conn: Connection, *, org_id: uuid.UUID, at: datetime) -> PolicyInputs:
    """The organization's policy inputs that were true at `at` (`InputsHistory.in_force`)."""
    histories = await inputs_histories(conn, org_ids=[org_id], until=at)
    return histories[org_id].in_force(at)


async def inputs_history(conn: Connection, *, org_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every recorded input of the organization, for administrators: standing and onboarding by
    when they became true (`as_of`), newest first, each with its arrival (`recorded_at`)."""

    async def rows(query: str) -> list[dict[str, Any]]:
        return [dict(r) for r in await conn.fetch(query, org_id)]

    return {
        "standing": await rows(
            """SELECT has_unpaid_obligations, as_of, recorded_at, source FROM standing_history
                WHERE org_id = $1 ORDER BY as_of DESC, id DESC"""
        ),
        "onboarding": await rows(
            """SELECT user_id, program, kind, completed_on, organization_setup_done, as_of,
                      recorded_at, source FROM onboarding_records WHERE org_id = $1
                ORDER BY as_of DESC, id DESC"""
        ),
        "arrangements": await rows(
            """SELECT valid_from, valid_until, agreed_by, note, recorded_at, recorded_by
                 FROM arrangements WHERE org_id = $1 ORDER BY recorded_at DESC, id DESC"""
        ),
    }
