"""Session-wide infrastructure: one real PostgreSQL server and one real Kafka-protocol broker
(embedded by default, see devstack.infra), plus the whole system as separate processes for the
end-to-end tests. Tests isolate by unique ids, never by truncating tables."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from devstack.infra import Endpoints, free_port
from devstack.stack import SERVICES, Stack, StackConfig
from services.auth.demo import CONSULTANT, CUSTOMER, VENDOR_ADMIN
from services.runtime.clock import ControlledClock
from tests.business_time import next_moment
from tests.support import PORTAL_ORIGIN, SignedIn


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
    # Every record handled leaves a line (debug; the default level logs one line per batch), so
    # a failing test can be read from the logs and a correlation id followed through them.
    debug_logs = {f"{service.upper()}_LOG_LEVEL": "DEBUG" for service in SERVICES}
    # A record whose dependency never arrives is dead-lettered after 4 s, not 5 minutes.
    short_parking = {f"{service.upper()}_PARKED_MAX_AGE_S": "4" for service in SERVICES}
    # Size limits the tests can reach without moving gigabytes.
    small_files = {
        "CONTENT_RELEASE_FILE_MAX_BYTES": str(8 << 20),
        "CONTENT_RECORDING_MAX_BYTES": str(16 << 20),
        "CONTENT_ATTACHMENT_MAX_BYTES": str(2 << 20),
    }
    # Attachments no message named are looked for every second (they expire after a day of
    # business time, which the tests reach by moving the clock).
    quick_attachment_sweep = {"CONTENT_ATTACHMENT_SWEEP_INTERVAL_S": "1"}
    # The portal's origin, as the prod overlay puts the API on another origin than the portal.
    portal = {"GATEWAY_CORS_ALLOW_ORIGINS": PORTAL_ORIGIN}
    running = Stack(
        StackConfig(
            state_dir=state,
            gateway_port=free_port(),
            log_format="json",
            environment="test",
            extra_env={
                **timeouts,
                **slow_throttle,
                **quick_auto_close,
                **debug_logs,
                **short_parking,
                **small_files,
                **quick_attachment_sweep,
                **portal,
            },
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


@pytest.fixture(scope="session")
def clock(stack: Stack) -> ControlledClock:
    """The business time of every service of the stack (docs/time.md): `clock.now()`,
    `clock.set(moment)`, `clock.advance(timedelta)`. Reset to real time after each test."""
    return stack.clock


@pytest.fixture(autouse=True)
def business_time(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run a test marked `@pytest.mark.at("tuesday 10:00")` at that moment (tests/business_time.py);
    put the stack's clock back to real time after every test that used the stack."""
    marker = request.node.get_closest_marker("at")
    if marker is None and "stack" not in request.fixturenames:
        yield
        return
    stack_clock: ControlledClock = request.getfixturevalue("clock")
    if marker is not None:
        stack_clock.set(next_moment(marker.args[0], after=stack_clock.now()))
    try:
        yield
    finally:
        stack_clock.reset()


@pytest.fixture(scope="session")
def signed_in(gateway: httpx.AsyncClient, clock: ControlledClock) -> SignedIn:
    return SignedIn(gateway, clock)


@pytest.fixture
async def customer(signed_in: SignedIn) -> dict[str, str]:
    """Authorization headers of the demo customer."""
    return await signed_in.headers(CUSTOMER.email)


@pytest.fixture
async def consultant(signed_in: SignedIn) -> dict[str, str]:
    """Authorization headers of the demo consultant."""
    return await signed_in.headers(CONSULTANT.email)


@pytest.fixture
async def vendor_admin(signed_in: SignedIn) -> dict[str, str]:
    """Authorization headers of the demo vendor administrator."""
    return await signed_in.headers(VENDOR_ADMIN.email)


@pytest.fixture
def mail_dir(stack: Stack) -> Path:
    return stack.mail_dir
