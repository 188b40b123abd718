"""The liveness rule for wedged consumers, and HTTP metrics by route template."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from devstack.status import parse_metrics, total
from services.runtime.clock import SystemClock
from services.runtime.consumer import ConsumerRunner, EventConsumer
from services.runtime.health import wedged_consumers
from services.runtime.metrics import HttpMetricsMiddleware, render


def _runner(name: str) -> ConsumerRunner:
    async def publish(*_: Any) -> None:
        raise AssertionError("nothing is published here")

    pool: Any = None  # never touched: only the batch's start is looked at
    return ConsumerRunner(
        EventConsumer(name, ["t"]), pool, publish, source=name, clock=SystemClock()
    )


def test_only_a_batch_running_past_the_limit_makes_a_consumer_wedged() -> None:
    idle, busy, stuck = _runner("idle"), _runner("busy"), _runner("stuck")
    busy._batch_started = 1000.0
    stuck._batch_started = 100.0

    wedged = wedged_consumers([idle, busy, stuck], now=1010.0, wedged_after_s=600)

    assert wedged == {"stuck": 910.0}
    assert idle.batch_age_s(1010.0) == 0.0


async def test_requests_are_counted_by_route_template_not_by_path() -> None:
    app = FastAPI()

    @app.get("/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    app.add_middleware(HttpMetricsMiddleware)
    transport = httpx.ASGITransport(app=app)
    before = parse_metrics(render().body.decode())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for secret in ("a-user@example.com", "12345"):
            assert (await client.get(f"/things/{secret}")).status_code == 200
        assert (await client.get("/nowhere/secret-path")).status_code == 404
        assert (await client.request("BREW", "/things/x")).status_code == 405
    after = parse_metrics(render().body.decode())

    def count(**labels: str) -> float:
        name = "ticketing_http_requests_total"
        return total(after, name, **labels) - total(before, name, **labels)

    assert count(route="/things/{thing_id}", method="GET", status="200") == 2
    assert count(route="unmatched", method="GET", status="404") == 1
    assert count(route="/things/{thing_id}", method="OTHER", status="405") == 1
    values = {v for series in after.values() for labels, _ in series for v in labels.values()}
    assert not any("example.com" in v or "secret" in v or v == "12345" for v in values)
