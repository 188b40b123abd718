"""Helpers the infrastructure-backed tests share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    timeout: float = 30.0,
    interval: float = 0.1,
    what: str = "condition",
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


async def produce(
    bootstrap: str, topic: str, value: bytes, *, key: bytes | None, headers: list[tuple[str, bytes]]
) -> tuple[int, int]:
    """Publish one raw record like a foreign producer would; return (partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    try:
        meta = await producer.send_and_wait(topic, value, key=key, headers=headers)
        return meta.partition, meta.offset
    finally:
        await producer.stop()


async def committed_offset(bootstrap: str, group: str, topic: str, partition: int) -> int:
    """The offset a consumer group has committed on one partition (-1 if none)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        offset = await consumer.committed(TopicPartition(topic, partition))
        return -1 if offset is None else int(offset)
    finally:
        await consumer.stop()


async def read_topic(bootstrap: str, topic: str, *, timeout: float = 10.0) -> list[ConsumerRecord]:
    """Every record in a topic up to its current end, on every partition (no consumer group)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        await consumer.topics()  # loads the metadata, so the partitions are known
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            positions = {tp: await consumer.position(tp) for tp in partitions}
            if all(positions[tp] >= ends[tp] for tp in partitions):
                break
            batch = await consumer.getmany(timeout_ms=300)
            for recs in batch.values():
                records.extend(recs)
    finally:
        await consumer.stop()
    return records


async def fetch(dsn: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()
