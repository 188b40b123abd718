"""Parked records: what a handler cannot apply yet, kept aside so its partition keeps flowing.

A handler raises `NotYetKnownError` when the record depends on something this service has not
seen (a decision about a ticket it does not know yet). The consumer then parks the record in the
`parked` table instead of retrying it in place, and parks every later record of the same message
key behind it, so one key's records are still applied in order. The consumer's parked-record
worker tries each parked key again with growing waits, applies its records in order once the
first succeeds, and dead-letters a record (reason `dependency-missing`) once it has waited
`PARKED_MAX_AGE_S`. Parked records are counted on `/readyz` and logged when parked and when
released. Times here are the database's: they schedule retries, they are not business time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord

from services.runtime.db import Connection


class NotYetKnownError(LookupError):
    """The record refers to something this service has not seen yet; park it, do not retry it."""


@dataclass(frozen=True)
class ParkedRecord:
    id: int
    key: str
    record: ConsumerRecord[Any, Any]
    reason: str
    attempts: int
    expired: bool


async def park(
    conn: Connection, *, consumer: str, key: str, event_id: Any, record: ConsumerRecord[Any, Any],
    reason: str,
) -> bool:  # fmt: skip
    """Keep the record aside; False when it was parked before."""
    headers = {k: (v or b"").decode(errors="replace") for k, v in record.headers or ()}
    inserted = await conn.fetchval(
        """INSERT INTO parked (consumer, message_key, event_id, topic, kafka_partition,
                               kafka_offset, value, headers, reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)
           ON CONFLICT (consumer, event_id) DO NOTHING RETURNING true""",
        consumer,
        key,
        event_id,
        record.topic,
        record.partition,
        record.offset,
        record.value or b"",
        json.dumps(headers),
        reason[:1000],
    )
    return bool(inserted)


async def parked_keys(conn: Connection, *, consumer: str, keys: list[str]) -> set[str]:
    """Those of these message keys that have records parked."""
    rows = await conn.fetch(
        "SELECT DISTINCT message_key FROM parked WHERE consumer = $1 AND message_key = ANY($2)",
        consumer,
        keys,
    )
    return {r["message_key"] for r in rows}


async def due_keys(pool: asyncpg.Pool, *, consumer: str, limit: int) -> list[str]:
    """Parked keys whose first record is due for another try, oldest first."""
    rows = await pool.fetch(
        """SELECT message_key FROM parked WHERE consumer = $1
            GROUP BY message_key HAVING min(next_attempt_at) <= now()
            ORDER BY min(id) LIMIT $2""",
        consumer,
        limit,
    )
    return [r["message_key"] for r in rows]


async def records_of(
    pool: asyncpg.Pool, *, consumer: str, key: str, max_age_s: float
) -> list[ParkedRecord]:
    """A parked key's records in the order they arrived."""
    rows = await pool.fetch(
        """SELECT *, parked_at < now() - make_interval(secs => $3) AS expired FROM parked
            WHERE consumer = $1 AND message_key = $2 ORDER BY id""",
        consumer,
        key,
        max_age_s,
    )
    return [
        ParkedRecord(r["id"], key, _record(key, r), r["reason"], r["attempts"], r["expired"])
        for r in rows
    ]


def _record(key: str, row: asyncpg.Record) -> ConsumerRecord[Any, Any]:
    value = bytes(row["value"])
    headers = [(k, v.encode()) for k, v in json.loads(row["headers"]).items()]
    return ConsumerRecord(
        row["topic"], row["kafka_partition"], row["kafka_offset"], 0, 0, key.encode(), value,
        None, len(key), len(value), headers,
    )  # fmt: skip


async def release(conn: Connection, *, parked_id: int) -> None:
    """The record was applied (or dead-lettered): it is parked no more."""
    await conn.execute("DELETE FROM parked WHERE id = $1", parked_id)


async def postpone(pool: asyncpg.Pool, *, consumer: str, key: str, reason: str) -> None:
    """Try the key again later, waiting twice as long as the last time (at most a minute)."""
    await pool.execute(
        """UPDATE parked SET attempts = attempts + 1, reason = $3,
                  next_attempt_at = now() + make_interval(secs => least(60, 2 ^ least(attempts, 6)))
            WHERE consumer = $1 AND message_key = $2""",
        consumer,
        key,
        reason[:1000],
    )


async def count_parked(conn: Connection) -> int:
    """How many records wait for what they depend on."""
    return int(await conn.fetchval("SELECT count(*) FROM parked"))
