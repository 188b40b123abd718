"""`ticketing migrate <service>` (the Kubernetes init container) on a real database: it applies
everything once, a second run applies nothing, and a service started with MIGRATE_ON_START=false
can tell whether anything is pending."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from services.catalog import CATALOG
from services.cli import main
from services.runtime.db import RUNTIME_MIGRATIONS, pending_migrations


async def test_migrate_command_applies_once_and_leaves_nothing_pending(
    scratch_dsn: str,
    scratch_pool: asyncpg.Pool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    entry = CATALOG["tickets"]
    sets = {"runtime": RUNTIME_MIGRATIONS, "tickets": entry.migrations}
    monkeypatch.setenv("TICKETS_DATABASE_URL", scratch_dsn)
    monkeypatch.setenv("TICKETS_LOG_FORMAT", "json")
    everything = await pending_migrations(scratch_pool, sets)
    assert [m.scope for m in everything].count("tickets") == len(
        list(entry.migrations.glob("*.sql"))
    )

    first = await asyncio.to_thread(main, ["migrate", "tickets"])
    second = await asyncio.to_thread(main, ["migrate", "tickets"])

    assert (first, second) == (0, 0)
    out = capsys.readouterr().out
    assert f"tickets: {len(everything)} migration(s) applied" in out
    assert "tickets: 0 migration(s) applied" in out
    assert await pending_migrations(scratch_pool, sets) == []


async def test_a_service_that_may_not_migrate_refuses_to_start_while_one_is_pending(
    scratch_dsn: str,
) -> None:
    from services.tickets.app import create_app
    from services.tickets.settings import TicketsSettings

    app = create_app(TicketsSettings(database_url=scratch_dsn, migrate_on_start=False))

    with pytest.raises(
        RuntimeError, match=r"migrations pending \(runtime/001_.*run `ticketing migrate`"
    ):
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover - the start-up must fail before this
