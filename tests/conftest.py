"""Session-wide infrastructure: one real PostgreSQL server and one real Kafka-protocol broker
(embedded by default, see devstack.infra), plus the whole system as separate processes for the
end-to-end tests. Tests isolate by unique ids, never by truncating tables."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from devstack.infra import Endpoints, free_port
from devstack.stack import DEMO_PASSWORD, SERVICES, Stack, StackConfig
from services.auth.demo import CONSULTANT, CUSTOMER, VENDOR_ADMIN


@pytest.fixture(scope="session")
async def stack() -> AsyncIterator[Stack]:
    """The whole system, started once: infrastructure, topics, SMTP capture, services, gateway.

    Its state lives outside pytest's temporary directories, which other pytest runs rotate away.
    """
    state = Path(tempfile.mkdtemp(prefix="ticketing-tests-"))
    # Faster consumer-group failover after the crash tests kill a service (6 s is the smallest
    # session timeout Apache Kafka accepts by default).
    timeouts = {
        f"{service.upper()}_CONSUMER_{name}_TIMEOUT_MS": "6000"
        for service in SERVICES
        for name in ("SESSION", "REBALANCE")
    }
    # A first sign-in wait long enough that a busy machine cannot let it run out before the
    # throttling tests look at it.
    slow_throttle = {"AUTH_THROTTLE_BASE_WAIT_S": "5"}
    # Resolved tickets past the reopening window are looked for every second, not every 5 min.
    quick_auto_close = {"TICKETS_AUTO_CLOSE_INTERVAL_S": "1"}
    running = Stack(
        StackConfig(
            state_dir=state,
            gateway_port=free_port(),
            log_format="json",
            extra_env={**timeouts, **slow_throttle, **quick_auto_close},
        )
    )
    try:
        await running.start()
        yield running
    finally:
        await running.stop()
        if os.environ.get("TICKETING_KEEP_TEST_STATE"):
            print(f"test state kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)


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


async def login(gateway: httpx.AsyncClient, email: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in through the gateway; return the access token."""
    response = await gateway.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture(scope="session")
async def customer(gateway: httpx.AsyncClient) -> dict[str, str]:
    """Authorization headers of the demo customer."""
    return {"authorization": f"Bearer {await login(gateway, CUSTOMER.email)}"}


@pytest.fixture(scope="session")
async def consultant(gateway: httpx.AsyncClient) -> dict[str, str]:
    """Authorization headers of the demo consultant."""
    return {"authorization": f"Bearer {await login(gateway, CONSULTANT.email)}"}


@pytest.fixture(scope="session")
async def vendor_admin(gateway: httpx.AsyncClient) -> dict[str, str]:
    """Authorization headers of the demo vendor administrator."""
    return {"authorization": f"Bearer {await login(gateway, VENDOR_ADMIN.email)}"}


@pytest.fixture
def mail_dir(stack: Stack) -> Path:
    return stack.mail_dir
