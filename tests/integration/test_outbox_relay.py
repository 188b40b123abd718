"""The outbox relay against the real broker and database: sweep by status, per-key order,
publish-then-mark, stop a key at its first failure, retry later."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from opentelemetry.sdk.trace import TracerProvider

from contracts.envelope import new_envelope
from contracts.tickets import TicketResolved
from devstack.infra import Endpoints
from services.runtime import tracing
from services.runtime.kafka import ensure_topics
from services.runtime.outbox import OutboxRelay, OutsideTransactionError, enqueue
from tests.support import migrated, read_topic

MOMENT = datetime(2026, 11, 24, 10, 15, tzinfo=UTC)  # occurred_at of the envelopes built here


@pytest.fixture
async def outbox_pool(scratch_pool: asyncpg.Pool) -> asyncpg.Pool:
    return await migrated(scratch_pool)


@pytest.fixture
async def producer(endpoints: Endpoints):  # type: ignore[no-untyped-def]
    producer = AIOKafkaProducer(
        bootstrap_servers=endpoints.kafka_bootstrap, acks="all", enable_idempotence=False
    )
    await producer.start()
    yield producer
    await producer.stop()


def _resolved(ticket_id: uuid.UUID, version: int):  # type: ignore[no-untyped-def]
    payload = TicketResolved(
        ticket_id=ticket_id,
        org_id=uuid.uuid4(),
        resolved_at="2026-11-23T10:00:00Z",
        resolved_by=uuid.uuid4(),
        resolution=f"step {version}",
        time_spent_minutes=version,
    )
    return new_envelope(
        payload,
        source="test",
        aggregate_id=str(ticket_id),
        aggregate_version=version,
        org_id=payload.org_id,
        correlation_id="relay-test",
        occurred_at=MOMENT,
    )


RELAY_TOPIC = "test.outbox-relay"


async def _store(pool: asyncpg.Pool, envelopes) -> None:  # type: ignore[no-untyped-def]
    """Store envelopes in the outbox, aimed at a test topic no service consumes."""
    async with pool.acquire() as conn, conn.transaction():
        for envelope in envelopes:
            await enqueue(conn, envelope)
        await conn.execute("UPDATE outbox SET topic = $1", RELAY_TOPIC)


async def test_outbox_rows_are_written_only_inside_a_transaction(outbox_pool: asyncpg.Pool) -> None:
    async with outbox_pool.acquire() as conn:
        with pytest.raises(OutsideTransactionError):
            await enqueue(conn, _resolved(uuid.uuid4(), 1))


async def test_relay_publishes_rows_left_unpublished_in_per_key_order(
    outbox_pool: asyncpg.Pool, producer: AIOKafkaProducer, endpoints: Endpoints
) -> None:
    await ensure_topics(endpoints.kafka_bootstrap, [RELAY_TOPIC], partitions=3)
    keys = [uuid.uuid4() for _ in range(3)]
    # interleaved writes, as concurrent transactions (or a crash before publishing) leave them
    await _store(outbox_pool, [_resolved(k, v) for v in range(1, 5) for k in keys])

    async def publish(topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> None:
        await producer.send_and_wait(
            topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()]
        )

    relay = OutboxRelay(outbox_pool, publish, batch_size=5)
    while (await relay.sweep_once()).published:
        pass

    assert await outbox_pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    seen: dict[str, list[int]] = defaultdict(list)
    for record in await read_topic(endpoints.kafka_bootstrap, RELAY_TOPIC):
        if record.key.decode() in {str(k) for k in keys}:
            seen[record.key.decode()].append(json.loads(record.value)["aggregate_version"])
            assert (
                dict((k, v.decode()) for k, v in record.headers)["correlation_id"] == "relay-test"
            )
    assert {k: v for k, v in seen.items()} == {str(k): [1, 2, 3, 4] for k in keys}


async def test_a_failed_publish_stops_its_key_and_is_retried_on_the_next_sweep(
    outbox_pool: asyncpg.Pool,
) -> None:
    failing, healthy = uuid.uuid4(), uuid.uuid4()
    await _store(outbox_pool, [_resolved(k, v) for v in (1, 2, 3) for k in (failing, healthy)])
    published: list[tuple[str, int]] = []
    broken = {"on": True}

    async def publish(topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> None:
        version = json.loads(value)["aggregate_version"]
        if broken["on"] and key.decode() == str(failing) and version == 2:
            raise ConnectionError("broker said no")
        published.append((key.decode(), version))

    relay = OutboxRelay(outbox_pool, publish)
    first = await relay.sweep_once()

    assert (first.published, first.failed) == (4, 1)
    assert [v for k, v in published if k == str(failing)] == [1]  # 3 was not sent after 2 failed
    row = await outbox_pool.fetchrow(
        "SELECT attempts, last_error FROM outbox WHERE message_key = $1 AND published_at IS NULL"
        " ORDER BY id LIMIT 1",
        str(failing),
    )
    assert row["attempts"] == 1 and "broker said no" in row["last_error"]

    broken["on"] = False
    second = await relay.sweep_once()

    assert (second.published, second.failed) == (2, 0)
    assert [v for k, v in published if k == str(failing)] == [1, 2, 3]


async def test_a_row_is_marked_published_only_after_the_broker_acknowledged_it(
    outbox_pool: asyncpg.Pool,
) -> None:
    await _store(outbox_pool, [_resolved(uuid.uuid4(), 1)])

    async def never_acknowledged(
        topic: str, key: bytes, value: bytes, headers: dict[str, str]
    ) -> None:
        raise TimeoutError("no acknowledgement")

    result = await OutboxRelay(outbox_pool, never_acknowledged).sweep_once()

    assert result.published == 0
    assert await outbox_pool.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 1


async def test_a_rows_traceparent_is_its_records_header_on_every_attempt(
    outbox_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tracing on for this test only, with a provider of its own (the process's global one is
    # left alone): the row stores the span that wrote it.
    monkeypatch.setattr(tracing._state, "enabled", True)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        await _store(outbox_pool, [_resolved(uuid.uuid4(), 1)])
        context = span.get_span_context()
    expected = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    assert await outbox_pool.fetchval("SELECT traceparent FROM outbox") == expected
    sent: list[dict[str, str]] = []

    async def publish(topic: str, key: bytes, value: bytes, headers: dict[str, str]) -> None:
        sent.append(headers)
        if len(sent) == 1:
            raise ConnectionError("broker said no")

    relay = OutboxRelay(outbox_pool, publish)
    assert (await relay.sweep_once()).failed == 1
    assert (await relay.sweep_once()).published == 1

    assert [h["traceparent"] for h in sent] == [expected, expected]
