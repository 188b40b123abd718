"""The SQL of who is entitled to what: program licences and training orders, each change kept
with its day (tables `licence_changes`, `training_order_changes`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Literal, TypeVar

import asyncpg

from services.runtime.db import Connection


@dataclass(frozen=True)
class LicenceChange:
    """The organization is licensed for the program from `valid_from` (or no longer)."""

    program: str
    licensed: bool
    valid_from: date
    source: str
    """Who said so: `erp`, or `admin:<user id>`."""
    recorded_at: datetime


@dataclass(frozen=True)
class TrainingOrderChange:
    """The organization ordered the training as of `as_of` (or no longer)."""

    training_id: str
    ordered: bool
    as_of: datetime
    source: str
    """Who said so: `training`, or `admin:<user id>`."""
    recorded_at: datetime


Change = TypeVar("Change", LicenceChange, TrainingOrderChange)

_TABLES: dict[type, tuple[str, str]] = {
    LicenceChange: ("licence_changes", "program, valid_from DESC, id DESC"),
    TrainingOrderChange: ("training_order_changes", "training_id, as_of DESC, id DESC"),
}
"""Each kind of change: its table (named as its fields, plus `org_id` and `source_event_id`)
and the order `changes` lists it in."""


async def record_change(
    conn: Connection,
    *,
    org_id: uuid.UUID,
    change: LicenceChange | TrainingOrderChange,
    source_event_id: uuid.UUID | None = None,
) -> None:
    """Append a change to the organization's history; an event's change once (a redelivered
    event adds nothing)."""
    table, _ = _TABLES[type(change)]
    values = vars(change)
    placeholders = ", ".join(f"${n}" for n in range(1, len(values) + 3))
    await conn.execute(
        f"""INSERT INTO {table} (org_id, {", ".join(values)}, source_event_id)
            VALUES ({placeholders}) ON CONFLICT (source_event_id) DO NOTHING""",
        org_id,
        *values.values(),
        source_event_id,
    )


async def changes(conn: Connection, kind: type[Change], org_id: uuid.UUID) -> list[Change]:
    """Every change of the organization's licences (training orders), by program (training)
    and newest first."""
    table, order = _TABLES[kind]
    rows = await conn.fetch(
        f"""SELECT {", ".join(f.name for f in fields(kind))} FROM {table}
             WHERE org_id = $1 ORDER BY {order}""",
        org_id,
    )
    return [kind(**row) for row in rows]


async def licensed_programs(conn: Connection, org_id: uuid.UUID, day: date) -> list[str]:
    """The programs the organization is licensed for on the day."""
    return [row["program"] for row in await _in_force(conn, "program", org_id=org_id, day=day)]


async def licensed_organizations(conn: Connection, program: str, day: date) -> list[uuid.UUID]:
    """The organizations licensed for the program on the day."""
    return [row["org_id"] for row in await _in_force(conn, "org_id", program=program, day=day)]


async def _in_force(
    conn: Connection, each: Literal["program", "org_id"], *, day: date, **one: object
) -> list[asyncpg.Record]:
    """The licences in force on the day, `each` program of one organization or each
    organization of one program (`one`): the latest change on or before the day holds."""
    [(column, value)] = one.items()
    return await conn.fetch(
        f"""SELECT {each} FROM (
               SELECT DISTINCT ON ({each}) {each}, licensed FROM licence_changes
                WHERE {column} = $1 AND valid_from <= $2
                ORDER BY {each}, valid_from DESC, id DESC) latest
            WHERE licensed ORDER BY {each}""",
        value,
        day,
    )
