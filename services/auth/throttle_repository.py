"""The SQL of the sign-in throttle (table `login_throttle`; the rule: auth/throttle.py)."""

from __future__ import annotations

from services.auth.throttle import ThrottleState
from services.runtime.db import Connection


async def throttle_states(conn: Connection, *, keys: list[str]) -> dict[str, ThrottleState]:
    rows = await conn.fetch("SELECT * FROM login_throttle WHERE key = ANY($1::text[])", keys)
    return {
        r["key"]: ThrottleState(r["failures"], r["last_failure_at"], r["locked_until"])
        for r in rows
    }


async def lock_throttle_state(conn: Connection, *, key: str) -> ThrottleState | None:
    row = await conn.fetchrow("SELECT * FROM login_throttle WHERE key = $1 FOR UPDATE", key)
    return (
        ThrottleState(row["failures"], row["last_failure_at"], row["locked_until"]) if row else None
    )


async def save_throttle_state(conn: Connection, *, key: str, state: ThrottleState) -> None:
    await conn.execute(
        """INSERT INTO login_throttle (key, failures, last_failure_at, locked_until)
           VALUES ($1, $2, $3, $4)
           ON CONFLICT (key) DO UPDATE
               SET failures = $2, last_failure_at = $3, locked_until = $4""",
        key,
        state.failures,
        state.last_failure_at,
        state.locked_until,
    )


async def clear_throttle(conn: Connection, *, key: str) -> None:
    await conn.execute("DELETE FROM login_throttle WHERE key = $1", key)
