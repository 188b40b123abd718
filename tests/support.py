"""Helpers the infrastructure-backed tests share."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from contracts.common import EventModel
from contracts.envelope import EventEnvelope, new_envelope
from devstack.stack import DEMO_PASSWORD
from services.catalog import CATALOG
from services.runtime.clock import ControlledClock
from services.runtime.db import RUNTIME_MIGRATIONS, migrate

T = TypeVar("T")

PORTAL_ORIGIN = "https://portal.test.example"
"""The portal's origin in the tests' stack (`GATEWAY_CORS_ALLOW_ORIGINS`, tests/conftest.py)."""


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


@dataclass
class ManualClock:
    """A clock a test moves by hand (`clock.moment = ...`)."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment


async def migrated(pool: asyncpg.Pool, *services: str) -> asyncpg.Pool:
    """`pool`'s database with the runtime's tables and those of `services`, migrated."""
    await migrate(
        pool, {"runtime": RUNTIME_MIGRATIONS, **{s: CATALOG[s].migrations for s in services}}
    )
    return pool


def consumer_record(
    envelope: EventEnvelope, topic: str, offset: int, partition: int = 0
) -> ConsumerRecord:
    """The record a consumer would read for `envelope` (keyed by its aggregate, no headers)."""
    key, value = envelope.key.encode(), envelope.model_dump_json().encode()
    return ConsumerRecord(
        topic, partition, offset, 0, 0, key, value, None, len(key), len(value), []
    )


def published_record(
    event: EventModel,
    topic: str,
    offset: int,
    partition: int = 0,
    *,
    source: str,
    aggregate_id: uuid.UUID,
    at: datetime,
    version: int = 1,
) -> ConsumerRecord:
    """The record a consumer would read for `event` as `source` published it at `at`: in an
    envelope of its organization and aggregate, with a correlation id naming the offset."""
    envelope = new_envelope(
        event,
        source=source,
        aggregate_id=aggregate_id,
        aggregate_version=version,
        org_id=getattr(event, "org_id", None),
        correlation_id=f"{source}-test-{offset}",
        occurred_at=at,
    )
    return consumer_record(envelope, topic, offset, partition)


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


async def login(gateway: httpx.AsyncClient, email: str, password: str = DEMO_PASSWORD) -> str:
    """Sign in through the gateway; return the access token."""
    response = await gateway.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@dataclass
class SignedIn:
    """Access tokens of the demo users, signed in again whenever business time has moved since
    (a token issued "before" a jump ahead has expired for the services; one issued after a
    jump back would not yet be valid)."""

    gateway: httpx.AsyncClient
    clock: ControlledClock
    _tokens: dict[str, tuple[str, timedelta, datetime]] = field(default_factory=dict)

    async def headers(self, email: str) -> dict[str, str]:
        """Authorization headers for `email`, valid at the current business time."""
        offset, now = self.clock.offset(), self.clock.now()
        cached = self._tokens.get(email)
        if cached is None or cached[1] != offset or now - cached[2] > timedelta(minutes=5):
            cached = (await login(self.gateway, email), offset, now)
            self._tokens[email] = cached
        return {"authorization": f"Bearer {cached[0]}"}


async def raw_get(
    base_url: str, raw_path: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    """GET `raw_path` byte for byte over a connection of its own (httpx resolves dot segments
    before sending, as browsers do; an attacker's client does not)."""
    url = httpx.URL(base_url)
    host, port = url.host, url.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    lines = [b"GET " + raw_path + b" HTTP/1.1", f"Host: {host}:{port}".encode()]
    lines += [f"{k}: {v}".encode() for k, v in (headers or {}).items()]
    writer.write(b"\r\n".join([*lines, b"Connection: close", b"", b""]))
    try:
        data = await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    pairs = [tuple(line.split(": ", 1)) for line in header_lines]
    if any(k.lower() == "transfer-encoding" and v.lower() == "chunked" for k, v in pairs):
        body = _unchunked(body)
    return httpx.Response(
        int(status_line.split()[1]),
        headers=[(k, v) for k, v in pairs],
        content=body,
        request=httpx.Request("GET", url.copy_with(raw_path=raw_path)),
    )


def _unchunked(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def loopback_address() -> str:
    """A loopback address of its own, never 127.0.0.1 (Linux routes all of 127.0.0.0/8 to this
    machine): a client address a test really connects from, not one it claims in a header."""
    n = uuid.uuid4().int
    return f"127.{n % 255 + 1}.{(n >> 8) % 256}.{(n >> 16) % 254 + 1}"


@asynccontextmanager
async def client_from(base_url: str, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose connections come from `address`."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=base_url, transport=transport, timeout=30) as client:
        yield client
