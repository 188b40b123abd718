"""Each service has its own database and a role that can reach only that database."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from devstack.stack import Stack


async def test_a_service_role_cannot_connect_to_another_services_database(stack: Stack) -> None:
    tickets_dsn = stack.database_urls["tickets"]
    own = await asyncpg.connect(tickets_dsn)
    assert await own.fetchval("SELECT current_database()") == "ticketing_tickets"
    await own.close()

    foreign = urlunsplit(urlsplit(tickets_dsn)._replace(path="/ticketing_billing"))
    with pytest.raises(
        (asyncpg.InvalidAuthorizationSpecificationError, asyncpg.InsufficientPrivilegeError)
    ):
        await asyncpg.connect(foreign)


async def test_a_service_role_is_not_a_superuser(stack: Stack) -> None:
    conn = await asyncpg.connect(stack.database_urls["billing"])
    try:
        assert (
            await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            is False
        )
    finally:
        await conn.close()
