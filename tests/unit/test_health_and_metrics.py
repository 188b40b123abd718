"""The liveness rules for wedged and stopped consumers, consumer lag across a rebalance, and HTTP
metrics by route template."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from aiokafka import TopicPartition
from fastapi import FastAPI

from devstack.status import parse_metrics, total
from services.runtime.clock import SystemClock
from services.runtime.consumer import ConsumerRunner, EventConsumer
from services.runtime.health import BrokerWatch, health_router, wedged_consumers
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


class _Subscriber:
    """What the runner reads of FastStream's subscriber: its tasks and aiokafka consumer."""

    def __init__(self, tasks: list[asyncio.Task[None]], consumer: Any = None) -> None:
        self.tasks = tasks
        self.consumer = consumer


async def test_a_consume_loop_that_ended_fails_liveness_and_a_running_one_does_not() -> None:
    ended = asyncio.create_task(asyncio.sleep(0))
    await ended
    running = asyncio.create_task(asyncio.sleep(60))
    dead, alive, not_started = _runner("dead"), _runner("alive"), _runner("not-started")
    # FastStream appends the restarted loop's task beside the failed one's.
    dead.subscriber = _Subscriber([ended])
    alive.subscriber = _Subscriber([ended, running])
    app = FastAPI()
    app.include_router(
        health_router(
            lambda: None,
            BrokerWatch(lambda: None),
            lambda: [dead, alive, not_started],
            wedged_after_s=600,
        )
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            answer = await client.get("/healthz")
            assert answer.status_code == 503
            assert answer.json()["consumers"] == {
                "dead": "stopped",
                "alive": "ok",
                "not-started": "ok",
            }
            dead.subscriber = _Subscriber([ended, running])
            assert (await client.get("/healthz")).status_code == 200
    finally:
        running.cancel()


class _KafkaConsumer:
    def __init__(self, assigned: dict[int, int]) -> None:
        self.assigned = assigned  # partition -> high watermark

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition("t", p) for p in self.assigned}

    def highwater(self, tp: TopicPartition) -> int:
        return self.assigned[tp.partition]

    async def position(self, tp: TopicPartition) -> int:
        return 0


async def test_lag_series_follow_the_assignment_across_a_rebalance() -> None:
    runner = _runner("lagging")
    kafka = _KafkaConsumer({0: 7, 1: 9})
    runner.subscriber = _Subscriber([], kafka)
    runner.next_offsets = {("t", 0): 5, ("t", 1): 9}

    def lag() -> dict[str, float]:
        series = parse_metrics(render().body.decode()).get("ticketing_consumer_lag_records", [])
        return {labels["partition"]: v for labels, v in series if labels["consumer"] == "lagging"}

    await runner.publish_lag()
    assert lag() == {"0": 2.0, "1": 0.0}

    kafka.assigned = {1: 12}  # partition 0 went to another replica
    await runner.publish_lag()
    assert lag() == {"1": 3.0}
    assert runner.next_offsets == {("t", 1): 9}


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
