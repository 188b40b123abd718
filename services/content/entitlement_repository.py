"""The SQL of who is entitled to what: program licences and training orders, each change kept
with its day (tables `licence_changes`, `training_order_changes`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from services.runtime.db import Connection


@dataclass(frozen=True)
class LicenceChange:
    program: str
    licensed: bool
    valid_from: date
    source: str
    recorded_at: datetime


@dataclass(frozen=True)
class TrainingOrderChange:
    training_id: str
    ordered: bool
    as_of: datetime
    source: str
    recorded_at: datetime


async def record_licence(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    program: str,
    licensed: bool,
    valid_from: date,
    source: str,
    recorded_at: datetime,
    source_event_id: uuid.UUID | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO licence_changes (org_id, program, licensed, valid_from, source,
                                        recorded_at, source_event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (source_event_id) DO NOTHING""",
        org_id,
        program,
        licensed,
        valid_from,
        source,
        recorded_at,
        source_event_id,
    )


async def licence_changes(conn: Connection, org_id: uuid.UUID) -> list[LicenceChange]:
    """Every licence change of the organization, by program and newest first."""
    rows = await conn.fetch(
        """SELECT program, licensed, valid_from, source, recorded_at FROM licence_changes
            WHERE org_id = $1 ORDER BY program, valid_from DESC, id DESC""",
        org_id,
    )
    return [LicenceChange(**row) for row in rows]


async def licensed_programs(conn: Connection, org_id: uuid.UUID, day: date) -> list[str]:
    """The programs the organization is licensed for on the day."""
    rows = await conn.fetch(
        """SELECT program FROM (
               SELECT DISTINCT ON (program) program, licensed FROM licence_changes
                WHERE org_id = $1 AND valid_from <= $2
                ORDER BY program, valid_from DESC, id DESC) latest
            WHERE licensed ORDER BY program""",
        org_id,
        day,
    )
    return [row["program"] for row in rows]


async def licensed_organizations(conn: Connection, program: str, day: date) -> list[uuid.UUID]:
    """The organizations licensed for the program on the day."""
    rows = await conn.fetch(
        """SELECT org_id FROM (
               SELECT DISTINCT ON (org_id) org_id, licensed FROM licence_changes
                WHERE program = $1 AND valid_from <= $2
                ORDER BY org_id, valid_from DESC, id DESC) latest
            WHERE licensed ORDER BY org_id""",
        program,
        day,
    )
    return [row["org_id"] for row in rows]


async def record_training_order(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    training_id: str,
    ordered: bool,
    as_of: datetime,
    source: str,
    recorded_at: datetime,
    source_event_id: uuid.UUID | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO training_order_changes (org_id, training_id, ordered, as_of, source,
                                               recorded_at, source_event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (source_event_id) DO NOTHING""",
        org_id,
        training_id,
        ordered,
        as_of,
        source,
        recorded_at,
        source_event_id,
    )


async def training_order_changes(conn: Connection, org_id: uuid.UUID) -> list[TrainingOrderChange]:
    rows = await conn.fetch(
        """SELECT training_id, ordered, as_of, source, recorded_at FROM training_order_changes
            WHERE org_id = $1 ORDER BY training_id, as_of DESC, id DESC""",
        org_id,
    )
    return [TrainingOrderChange(**row) for row in rows]
