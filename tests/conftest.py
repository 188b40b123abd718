"""Session-wide infrastructure: one real PostgreSQL server and one real Kafka-protocol broker
(embedded by default, see devstack.infra), plus the whole system as separate processes for the
end-to-end tests. Tests isolate by unique ids, never by truncating tables."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from devstack.infra import Endpoints, free_port
from devstack.stack import Stack, StackConfig
from services.auth.demo import CONSULTANT, CUSTOMER


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """The whole system, started once: infrastructure, topics, SMTP capture, services, gateway."""
    state = tmp_path_factory.mktemp("stack")
    running = Stack(StackConfig(state_dir=state, gateway_port=free_port(), log_format="json"))
    try:
        await running.start()
        yield running
    finally:
        await running.stop()


@pytest.fixture(scope="session")
def endpoints(stack: Stack) -> Endpoints:
    assert stack.endpoints is not None
    return stack.endpoints


@pytest.fixture(scope="session")
def admin_dsn_for(endpoints: Endpoints):  # type: ignore[no-untyped-def]
    """A superuser DSN for one service's database (for inspecting effects)."""

    def dsn(service: str) -> str:
        parts = urlsplit(endpoints.postgres_admin_dsn)
        return urlunsplit(parts._replace(path=f"/ticketing_{service}"))

    return dsn


@pytest.fixture(scope="session")
async def gateway(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        yield client


async def _token(gateway: httpx.AsyncClient, email: str) -> str:
    response = await gateway.post("/api/auth/dev/login", json={"email": email})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="session")
async def customer(gateway: httpx.AsyncClient) -> dict[str, str]:
    """Authorization headers of the demo customer."""
    return {"authorization": f"Bearer {await _token(gateway, CUSTOMER.email)}"}


@pytest.fixture(scope="session")
async def consultant(gateway: httpx.AsyncClient) -> dict[str, str]:
    """Authorization headers of the demo consultant."""
    return {"authorization": f"Bearer {await _token(gateway, CONSULTANT.email)}"}


@pytest.fixture
def mail_dir(stack: Stack) -> Path:
    return stack.mail_dir
