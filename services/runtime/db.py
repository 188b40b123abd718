"""Database pool and forward-only plain-SQL migrations."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import asyncpg
import structlog
from asyncpg.pool import PoolConnectionProxy

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

log = structlog.get_logger(__name__)

RUNTIME_MIGRATIONS = Path(__file__).parent / "migrations"

Connection: TypeAlias = "asyncpg.Connection[Any] | PoolConnectionProxy[Any]"
"""A connection, whether opened directly or acquired from a pool."""

# Errors that mean "the database cannot be reached right now", not "this request is wrong".
# asyncpg's client-state errors ("cannot switch to state ...") come from a connection that broke
# in the middle of an operation, as when PostgreSQL stops: the same, not a handler's failure.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


Row = TypeVar("Row", bound="DataclassInstance")


def from_row(record: type[Row], row: asyncpg.Record | Mapping[str, Any], **converted: Any) -> Row:
    """A `record` (a dataclass) from a row whose columns are named as its fields; `converted`
    gives the fields a column does not hold as they are (JSON, an array as a set, several
    columns as one value)."""
    named = {f.name: row[f.name] for f in fields(record) if f.name not in converted}
    return record(**named, **converted)


async def create_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, command_timeout: float = 10.0
) -> asyncpg.Pool:
    """Open a connection pool; connections are opened lazily beyond `min_size`.

    A connection goes back to the pool without asyncpg's reset query (advisory unlock, CLOSE
    ALL, UNLISTEN, RESET ALL: one more round trip per request or batch): the services keep no
    session state on pooled connections. Settings are `SET LOCAL`, locks transaction-level,
    the relay's LISTEN is removed before its connection goes back, and `migrate` resets its
    connection itself. asyncpg still rolls back a transaction left open (docs/decisions.md).
    """
    return await asyncpg.create_pool(
        dsn=dsn,
        min_size=min_size,
        max_size=max_size,
        command_timeout=command_timeout,
        reset=_keep_as_is,
    )


async def _keep_as_is(conn: asyncpg.Connection[Any]) -> None:
    """No reset query on release (`create_pool`)."""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file of a migration set."""

    scope: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations(scope: str, directory: Path) -> list[Migration]:
    """Read `NNN_name.sql` files in version order."""
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        number, _, name = path.stem.partition("_")
        migrations.append(Migration(scope, int(number), name, path.read_text()))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ValueError(f"duplicate migration numbers in {directory}")
    return migrations


async def migrate(pool: asyncpg.Pool, sets: dict[str, Path]) -> list[Migration]:
    """Apply the migrations not yet applied, each in its own transaction; return those applied.

    An advisory lock makes concurrent starts of several replicas safe. A changed file that was
    already applied is refused: migrations are forward only.
    """
    applied_now: list[Migration] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock(hashtext('ticketing.migrations'))")
        try:
            await conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       scope text NOT NULL,
                       version int NOT NULL,
                       name text NOT NULL,
                       checksum text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now(),
                       PRIMARY KEY (scope, version))"""
            )
            rows = await conn.fetch("SELECT scope, version, checksum FROM schema_migrations")
            done = {(r["scope"], r["version"]): r["checksum"] for r in rows}
            for scope, directory in sets.items():
                for migration in load_migrations(scope, directory):
                    known = done.get((scope, migration.version))
                    if known is not None:
                        if known != migration.checksum:
                            raise RuntimeError(
                                f"migration {scope}/{migration.version}_{migration.name} "
                                "changed after it was applied; add a new migration instead"
                            )
                        continue
                    async with conn.transaction():
                        await conn.execute(migration.sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations (scope, version, name, checksum)"
                            " VALUES ($1, $2, $3, $4)",
                            scope,
                            migration.version,
                            migration.name,
                            migration.checksum,
                        )
                    log.info("migration applied", scope=scope, migration=migration.name)
                    applied_now.append(migration)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext('ticketing.migrations'))")
            await conn.reset()  # whatever a migration's SQL set for its session (`create_pool`)
    return applied_now


async def pending_migrations(pool: asyncpg.Pool, sets: dict[str, Path]) -> list[Migration]:
    """The migrations not applied yet (nothing is changed); all of them on an empty database."""
    async with pool.acquire() as conn:
        exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
        rows = await conn.fetch("SELECT scope, version FROM schema_migrations") if exists else []
    done = {(r["scope"], r["version"]) for r in rows}
    return [
        migration
        for scope, directory in sets.items()
        for migration in load_migrations(scope, directory)
        if (scope, migration.version) not in done
    ]
