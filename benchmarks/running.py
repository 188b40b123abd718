"""What the small benchmarks share: the system they measure, started for the run in a temporary
directory (as `ticketing dev` starts it) unless a running one's gateway is given, and a demo
user's sign-in."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from devstack.infra import free_port
from devstack.stack import DEMO_PASSWORD, Stack, StackConfig


def arguments(description: str | None, **counts: int) -> argparse.Namespace:
    """The command line of a benchmark measuring a system: `--gateway` of a running one, and an
    integer option per `counts` (name=default)."""
    parser = argparse.ArgumentParser(description=description)
    for name, default in counts.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    parser.add_argument("--gateway", help="measure a running system instead of starting one")
    return parser.parse_args()


@asynccontextmanager
async def started_stack(
    prefix: str = "ticketing-bench-", *, report_start_up: bool = False, **config: Any
) -> AsyncIterator[Stack]:
    """The whole system, started in a temporary directory; stopped and removed afterwards."""
    state = Path(tempfile.mkdtemp(prefix=prefix))
    stack = Stack(StackConfig(state_dir=state, gateway_port=free_port(), **config))
    try:
        started = time.perf_counter()
        await stack.start()
        if report_start_up:
            print(f"start-up until every service ready: {time.perf_counter() - started:.1f} s")
        yield stack
    finally:
        await stack.stop()
        shutil.rmtree(state, ignore_errors=True)


@asynccontextmanager
async def gateway_to_measure(
    given: str | None, *, report_start_up: bool = False
) -> AsyncIterator[str]:
    """`given` (a running system's gateway), or the gateway of a system started for the run."""
    if given is not None:
        yield given
        return
    async with started_stack(report_start_up=report_start_up) as stack:
        yield stack.gateway_url


async def demo_headers(client: httpx.AsyncClient, base_url: str, email: str) -> dict[str, str]:
    """Authorization headers of a demo user (the demo password), signed in at `base_url`."""
    login = await client.post(
        f"{base_url}/api/auth/login", json={"email": email, "password": DEMO_PASSWORD}
    )
    login.raise_for_status()
    return {"authorization": f"Bearer {login.json()['access_token']}"}


def p90(sorted_values: Sequence[float]) -> float:
    """The value 90 % of the way from the smallest to the largest (of sorted values)."""
    return sorted_values[int(0.9 * (len(sorted_values) - 1))]
