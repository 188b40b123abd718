"""Benchmark: the event pipeline against raw aiokafka/asyncpg hops, on the embedded infrastructure.

    apt-get install -y wrk        # once: the load generator of (e) and (g)
    .venv/bin/python -m benchmarks.pipeline [--short] [--only a,b,c,d,e,f,g,h] [--keep-state]
                                            [--tracing [--trace-ratio R] [--traces-per-second N]]
    # another checkout with this one's environment (the services inherit PYTHONPATH):
    cd <checkout> && env PYTHONPATH=$PWD <this>/.venv/bin/python -m benchmarks.pipeline

It starts the same stack as `ticketing dev` (embedded PostgreSQL 18 + Tansu broker, the four
services, the gateway) in a temporary directory, measures in one run, prints the figures side by
side with their ratios, and asserts nothing. Full mode takes about 30 minutes on the current code;
`--short` about 5. `--keep-state` keeps the logs and databases' directory (it prints where).

(a) Raw aiokafka hop, no database: a backlog of N TicketCreated envelopes on a 6-partition topic;
    one consumer reads it with getmany(max_records=500), validates each record with
    `EventEnvelope` and its payload model, produces a follow-up (TicketClassified) to another
    topic, awaits the acks and commits offsets once per batch. events/s from the first record to
    the last commit (the group join, ~5 s on Tansu, is printed apart).
(b) The same hop doing a consumer's database work the best way asyncpg allows: per batch one
    transaction with the inbox dedupe (INSERT .. SELECT FROM unnest .. ON CONFLICT DO NOTHING
    RETURNING), a state write (unnest) and an outbox insert (unnest); then the follow-ups are
    produced, marked published (one UPDATE .. = ANY) and the offsets committed. Its own database
    on the same server, with the project's inbox/outbox migrations.
(c) Each consuming service's catch-up over a backlog, measured with the other consumers stopped.
    Real tickets of the demo customer (row, timeline row, TicketCreated outbox row) are COPYed
    straight into the tickets database while billing and notify are stopped; the tickets relay
    publishes them; tickets is stopped. Then billing starts on that TicketCreated backlog (effect:
    `decisions` rows), then tickets on the TicketClassified backlog billing left (effect: decision
    recorded on the ticket row), then notify on tickets.events, i.e. every TicketCreated,
    TicketDecisionRecorded and TicketRefused of the backlog (effect: `emails` rows of
    TicketDecisionRecorded), and notify's SMTP sender until nothing is pending. Effect rows are
    counted every 0.2 s (less those there before): "steady" = rows/s between the first and last
    poll that saw progress,
    "first/last fifth" = the same within the first and last 20 % of the target, "from start"
    includes process start-up and the consumer group join. auth has no consumer on a hot path.
(d) Open-loop POST /api/tickets through the gateway at 100 tickets/s (a minimal asyncio HTTP/1.1
    client, 64 keep-alive connections; a request whose time has come waits at the client while
    all 64 are busy, and every latency counts from its scheduled time). Latency = the moment the
    ticket row got its decision (`updated_at` of the tickets service's write) minus the scheduled
    send; undecided tickets and unanswered POSTs of the section sampled every 5 s during the load
    and afterwards up to a cap; tickets still undecided at the cap count as slower than the cap.
    The CPU each process used while the POSTs were answered is printed (it shows the client is
    not the bottleneck), and where a decided ticket's time went, step by step, from the
    databases' timestamps (POST, tickets' relay, broker hop to billing, billing's relay, broker
    hop back to tickets).
(e) POST /api/tickets, closed loop, wrk (2 threads, 32 connections, Lua script with the demo
    customer's token): through the gateway, directly on the tickets service, and on `minimal_app`
    below (FastAPI + asyncpg started by uvicorn with the services' options), which does the
    tickets service's transaction (ticket row, timeline row, TicketCreated outbox row, the latter
    marked published so the relay leaves it) on the same database, without token verification,
    logging or waiting-list position. billing and notify are stopped meanwhile, so the chain does
    not compete for the two cores. CPU per process is printed.
(f) Resident memory (RSS, psutil, every 2 s) of every service process: first sample, peak, last
    sample; a service restarted by (c), (e) or (g) is a new process, listed apart.

`--tracing` runs every service with OpenTelemetry traces on (services/runtime/tracing.py),
exported by OTLP/HTTP to a sink in this process that reads each request and answers 200 (the
cost of recording and exporting spans, not of a collector), keeping the shipped share of new
traces (all, within each process's budget of 10 new traces a second), or `--trace-ratio`'s
within `--traces-per-second`'s budget. Without it traces are off, as by default; metrics are always
on. Compare runs with and without it back to back.
(h) billing's catch-up over the same backlog as (c), alone, twice: with the history the run has
    so far, then after 100,000 earlier resolved tickets of the demo organization (texts from the
    same generator, so most are alike; a third the demo customer's) were COPYed into billing's
    own table. Each run is capped at the decision cap; the ratio long/short is the history
    target's. Runs after (f)'s sections and before (g).
(g) Reading probes on N tickets of the demo organization loaded into the tickets database (COPY
    into a staging table, then inserted in submission order, as the service writes them)
    (Slovenian texts; 78 % closed, 8 % refused, 6 % resolved, 4 % in work, 1 % waiting, 0.5 %
    mention "inventura tiskanju"; no timeline or message rows), with billing and notify stopped:
    each probe once (timeout 20 s), then with wrk at 8 connections for 10 s, whose per-request
    timeout equals the run, so a probe that never answers is reported as such.

Harness housekeeping that matters when reading the figures: after (c), (d) and each run of (e)
the section's still-open tickets are marked closed directly in the tickets database, so that every
section starts with a short waiting list (every POST computes the waiting-list positions);
billing's P-REPEAT search depends on the number of the organization's tickets, so billing's
figures depend on what ran before. The stack's clock is set to the next Tuesday 10:00 in
Ljubljana, so the decisions (R-OUTSIDE-HOURS) do not depend on the hour the benchmark runs.

Full mode: backlog 10,000, raw hops 20,000, 100 tickets/s for 60 s, wrk 20 s, 1,000,000 tickets.
`--short`: backlog 2,000, raw hops 5,000, 15 s, wrk 8 s, 100,000 tickets.

Figures of the unoptimised code (commit c562be0, full mode, 2 cores, 2026-12-02; the whole
output was kept as benchmarks/BEFORE.txt, not committed):

    (a) raw hop                            8,051 events/s
    (b) raw hop + database                 4,954 events/s   (b)/(a) 0.615
    (c) billing  catch-up                  19.7 events/s   /(b) 0.004, /(a) 0.002
        (first fifth of the backlog 47.2/s, last fifth 9.5/s; an earlier run: 11.9/s)
    (c) tickets  catch-up                 495.6 events/s   /(b) 0.100, /(a) 0.062
    (c) notify   catch-up                 621.2 events/s   /(b) 0.125, /(a) 0.077
        (its SMTP sender then needed 274 s for the 10,000 e-mails)
    (c) auth: no hot consumer
    (d) 100/s offered: 96.7/s accepted, decision p50 > 368 s, p99 > 368 s, backlog grew, 4,548
        undecided at the cap (POST p50 526 ms, p99 2.5 s; the 1,452 decided: p50 219 s)
    (e) gateway                     139.1 req/s, p99 723 ms
    (e) tickets service             181.5 req/s, p99 365 ms
    (e) minimal FastAPI+asyncpg    1192.4 req/s, p99 57 ms
    (e) throughput gateway/minimal 0.117, tickets service/minimal 0.152; p99 gateway/minimal
        12.745, tickets service/minimal 6.434
    (f) RSS 48-80 MB at start, peaks 62 MB (gateway) to 100 MB (billing)
    (g) customer's first page    p99     883 ms, 10.3 req/s
    (g) page at offset=500,000   p99    3589 ms, 1.6 req/s
    (g) status=in_progress       p99    3095 ms, 2.4 req/s
    (g) q=inventura tiskanju     p99    5969 ms, 0.8 req/s
    (g) one ticket               p99     119 ms, 112.4 req/s
    (g) consultant's queue       p99     329 ms, 32.9 req/s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI
from pydantic import BaseModel, Field

from benchmarks.pipeline_support import (
    MemorySampler,
    RawHttpClient,
    WrkResult,
    cpu_seconds,
    cpu_share,
    dead_letters,
    fmt_ms,
    group_lag,
    percentile,
    random_past,
    ratio,
    run_wrk,
    ticket_text,
    utcnow,
    wait_db_idle,
)
from contracts.billing import TicketClassified
from contracts.common import Person, RuleHit
from contracts.envelope import EventEnvelope, new_envelope
from contracts.registry import model_for
from contracts.tickets import TicketCreated
from contracts.topics import (
    ACCOUNTS_EVENTS,
    BILLING_EVENTS,
    DEAD_LETTER,
    ERP_EVENTS,
    TICKETS_EVENTS,
    TRAINING_EVENTS,
)
from devstack.infra import free_port, provision_databases
from devstack.otlp import OtlpEndpoint
from devstack.processes import ChildProcess
from devstack.stack import DEMO_PASSWORD, Stack, StackConfig, uvicorn_argv
from services.auth.demo import CONSULTANT, CUSTOMER, DEMO_ORG
from services.runtime.db import RUNTIME_MIGRATIONS, migrate
from services.runtime.kafka import ensure_topics
from services.runtime.logging import configure_logging
from services.runtime.paging import encode_cursor

ROOT = Path(__file__).resolve().parent.parent
OPEN_LOOP_CONNECTIONS = 64
POST_TARGETS = ("gateway", "tickets service", "minimal FastAPI+asyncpg")
CONSUMERS = ("billing", "tickets", "notify")
TOPICS_READ = {
    "billing": (TICKETS_EVENTS, ERP_EVENTS, TRAINING_EVENTS),
    "tickets": (BILLING_EVENTS, ACCOUNTS_EVENTS),
    "notify": (TICKETS_EVENTS, ACCOUNTS_EVENTS),
}
ANA = Person(
    user_id=CUSTOMER.id,
    email=CUSTOMER.email,
    display_name=CUSTOMER.display_name,
    language=CUSTOMER.language,
)


def say(text: str = "") -> None:
    print(text, flush=True)


@dataclass(frozen=True)
class Sizes:
    raw_events: int
    backlog: int
    sustained_rate: int
    sustained_s: int
    wrk_s: int
    reading_tickets: int
    probe_s: int
    catch_up_cap_s: int
    decision_cap_s: int
    drain_cap_s: int
    history: int

    @classmethod
    def of(cls, short: bool) -> Sizes:
        if short:
            return cls(5_000, 2_000, 100, 15, 8, 100_000, 5, 420, 90, 180, 100_000)
        return cls(20_000, 10_000, 100, 60, 20, 1_000_000, 10, 1500, 300, 600, 100_000)


@dataclass
class Bench:
    stack: Stack
    sizes: Sizes
    rng: random.Random
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        assert self.stack.endpoints is not None
        return self.stack.endpoints.kafka_bootstrap

    @property
    def admin_dsn(self) -> str:
        assert self.stack.endpoints is not None
        return self.stack.endpoints.postgres_admin_dsn

    def dsn(self, service: str) -> str:
        return self.stack.database_urls[service]

    @asynccontextmanager
    async def db(self, service: str) -> AsyncIterator[asyncpg.Connection[Any]]:
        conn = await asyncpg.connect(self.dsn(service))
        try:
            yield conn
        finally:
            await conn.close()

    async def count(self, service: str, query: str, *args: object) -> int:
        async with self.db(service) as conn:
            return int(await conn.fetchval(query, *args) or 0)

    async def login(self, email: str) -> dict[str, str]:
        async with httpx.AsyncClient(base_url=self.stack.gateway_url, timeout=30) as client:
            response = await client.post(
                "/api/auth/login", json={"email": email, "password": DEMO_PASSWORD}
            )
            response.raise_for_status()
            return {"authorization": f"Bearer {response.json()['access_token']}"}

    async def stop(self, *names: str) -> None:
        await asyncio.gather(
            *(asyncio.to_thread(self.stack.processes[n].stop) for n in names if self.running(n))
        )

    async def start(self, *names: str) -> None:
        todo = [n for n in names if not self.running(n)]
        for name in todo:
            self.stack.processes[name].start()
        await asyncio.gather(*(self.stack.wait_ready(n) for n in todo))

    def running(self, name: str) -> bool:
        return self.stack.processes[name].running()

    def pids(self) -> dict[str, int]:
        return {n: p.pid for n, p in self.stack.processes.items() if p.running()}

    def all_pids(self) -> dict[str, int]:
        """The services, the infrastructure and this process (the load generator)."""
        pids = {**self.pids(), "benchmark": os.getpid()}
        infra = self.stack.infrastructure
        for name, attr in (("postgres", "_postgres"), ("tansu", "_broker")):
            child = getattr(infra, attr, None)
            if isinstance(child, ChildProcess) and child.running():
                pids[name] = child.pid
        return pids


# --- (a) and (b): raw hops ---------------------------------------------------------------------


def _created_envelope(rng: random.Random, number: int) -> EventEnvelope:
    return _ticket_created(uuid.uuid4(), number, ticket_text(rng), utcnow(), correlation="bench")


def _ticket_created(
    ticket_id: uuid.UUID,
    number: int,
    text: tuple[str, str, str | None, str],
    submitted_at: datetime,
    *,
    correlation: str,
) -> EventEnvelope:
    """Ana's portal ticket (`text`: subject, body, program, topic) announced as the tickets
    service announces it, with a correlation id of its own starting with `correlation`."""
    subject, body, program, topic = text
    payload = TicketCreated(
        ticket_id=ticket_id,
        number=number,
        org_id=DEMO_ORG.id,
        requester=ANA,
        channel="portal",
        subject=subject,
        body=body,
        program=program,
        submitted_at=submitted_at,
        topic=topic,
    )
    return new_envelope(
        payload,
        source="tickets",
        aggregate_id=str(ticket_id),
        aggregate_version=1,
        org_id=DEMO_ORG.id,
        correlation_id=f"{correlation}-{uuid.uuid4()}",
        occurred_at=utcnow(),
    )


_FREE = RuleHit(
    code="F-SHORT-USAGE",
    effect="free",
    explanation="Short help with using the program.",
    explanation_sl="Kratka pomoč pri uporabi programa.",
)


def _follow_up(envelope: EventEnvelope, created: TicketCreated) -> EventEnvelope:
    payload = TicketClassified(
        ticket_id=created.ticket_id,
        org_id=created.org_id,
        stage="provisional",
        decision="free",
        reasons=(_FREE,),
        policy_version="bench",
        decided_at=utcnow(),
    )
    return new_envelope(
        payload,
        source="bench",
        aggregate_id=str(created.ticket_id),
        aggregate_version=1,
        org_id=created.org_id,
        correlation_id=envelope.correlation_id,
        occurred_at=utcnow(),
        causation_id=envelope.event_id,
    )


async def _produce_backlog(bench: Bench, topic: str, count: int) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=bench.bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=1 << 20,
    )
    await producer.start()
    try:
        started = time.perf_counter()
        for chunk in range(0, count, 1000):
            envelopes = [
                _created_envelope(bench.rng, i + 1) for i in range(chunk, min(count, chunk + 1000))
            ]
            futures = [
                await producer.send(topic, e.model_dump_json().encode(), key=e.key.encode())
                for e in envelopes
            ]
            await asyncio.gather(*futures)
        return count / (time.perf_counter() - started)
    finally:
        await producer.stop()


_BENCH_STATE = """CREATE TABLE IF NOT EXISTS bench_tickets (
    ticket_id uuid PRIMARY KEY, org_id uuid NOT NULL, number bigint NOT NULL,
    requester_id uuid NOT NULL, channel text NOT NULL, topic text NOT NULL, program text,
    subject text NOT NULL, body text NOT NULL, submitted_at timestamptz NOT NULL)"""


async def _db_batch(
    conn: asyncpg.Connection[Any],
    envelopes: list[EventEnvelope],
    created: list[TicketCreated],
    follow_ups: list[EventEnvelope],
) -> None:
    """Inbox dedupe, state write and outbox insert for one batch, in one transaction."""
    async with conn.transaction():
        fresh = {
            r["event_id"]
            for r in await conn.fetch(
                """INSERT INTO inbox (consumer, event_id, event_type)
                   SELECT 'bench', e, t FROM unnest($1::uuid[], $2::text[]) AS u(e, t)
                   ON CONFLICT DO NOTHING RETURNING event_id""",
                [e.event_id for e in envelopes],
                [e.event_type for e in envelopes],
            )
        }
        keep = [i for i, e in enumerate(envelopes) if e.event_id in fresh]
        rows = [created[i] for i in keep]
        await conn.execute(
            """INSERT INTO bench_tickets (ticket_id, org_id, number, requester_id, channel, topic,
                                          program, subject, body, submitted_at)
               SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::uuid[], $5::text[],
                                    $6::text[], $7::text[], $8::text[], $9::text[],
                                    $10::timestamptz[])
               ON CONFLICT (ticket_id) DO NOTHING""",
            [c.ticket_id for c in rows],
            [c.org_id for c in rows],
            [c.number for c in rows],
            [c.requester.user_id for c in rows],
            [c.channel for c in rows],
            [c.topic for c in rows],
            [c.program for c in rows],
            [c.subject for c in rows],
            [c.body for c in rows],
            [c.submitted_at for c in rows],
        )
        outgoing = [follow_ups[i] for i in keep]
        await conn.execute(
            """INSERT INTO outbox (event_id, event_type, topic, message_key, envelope)
               SELECT e, t, tp, k, v::jsonb
                 FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])
                      AS u(e, t, tp, k, v)""",
            [f.event_id for f in outgoing],
            [f.event_type for f in outgoing],
            ["bench.out"] * len(outgoing),
            [f.key for f in outgoing],
            [f.model_dump_json() for f in outgoing],
        )


async def _bench_database(bench: Bench) -> str:
    dsn = (await provision_databases(bench.admin_dsn, ["bench"]))["bench"]
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        await migrate(pool, {"runtime": RUNTIME_MIGRATIONS})
        await pool.execute(_BENCH_STATE)
    finally:
        await pool.close()
    return dsn


async def raw_hop(bench: Bench, *, with_db: bool) -> float | None:
    """(a) or (b); returns events/s."""
    name = "db" if with_db else "raw"
    topic_in, topic_out = f"bench.{name}.in", f"bench.{name}.out"
    count = bench.sizes.raw_events
    await ensure_topics(bench.bootstrap, [topic_in, topic_out], partitions=6)
    produced = await _produce_backlog(bench, topic_in, count)
    conn = await asyncpg.connect(await _bench_database(bench)) if with_db else None
    producer = AIOKafkaProducer(
        bootstrap_servers=bench.bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=1,
        max_batch_size=1 << 20,
    )
    consumer = AIOKafkaConsumer(
        topic_in,
        bootstrap_servers=bench.bootstrap,
        group_id=f"bench-{name}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=8 << 20,
        fetch_max_bytes=64 << 20,
    )
    await producer.start()
    joined = time.perf_counter()
    await consumer.start()
    processed, first, batches = 0, None, 0
    deadline = time.monotonic() + 300
    try:
        while processed < count and time.monotonic() < deadline:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=500)
            records = [r for recs in fetched.values() for r in recs]
            if not records:
                continue
            if first is None:
                first = time.perf_counter()
            envelopes = [EventEnvelope.model_validate_json(r.value or b"") for r in records]
            created = cast(
                list[TicketCreated],
                [
                    model_for(e.event_type, e.event_version).model_validate(e.payload)
                    for e in envelopes
                ],
            )
            follow_ups = [_follow_up(e, c) for e, c in zip(envelopes, created, strict=True)]
            if conn is not None:
                await _db_batch(conn, envelopes, created, follow_ups)
            futures = [
                await producer.send(topic_out, f.model_dump_json().encode(), key=f.key.encode())
                for f in follow_ups
            ]
            await asyncio.gather(*futures)
            if conn is not None:
                await conn.execute(
                    "UPDATE outbox SET published_at = now() WHERE event_id = ANY($1::uuid[])",
                    [f.event_id for f in follow_ups],
                )
            await consumer.commit()
            processed += len(records)
            batches += 1
    finally:
        await consumer.stop()
        await producer.stop()
        if conn is not None:
            await conn.close()
    if first is None:
        say(f"  nothing consumed within 300 s (join started {joined:.0f})")
        return None
    elapsed = time.perf_counter() - first
    rate = processed / elapsed
    say(
        f"  backlog of {count:,} produced at {produced:,.0f} ev/s; group join + first fetch "
        f"{first - joined:.1f} s; {processed:,} events in {batches} batches "
        f"({processed / batches:.0f} per getmany) in {elapsed:.2f} s -> {rate:,.0f} events/s"
    )
    return rate


# --- (c) catch-up ------------------------------------------------------------------------------


_OPENED_COLUMNS = [
    "id",
    "org_id",
    "requester_id",
    "requester_email",
    "requester_name",
    "requester_language",
    "channel",
    "subject",
    "body",
    "program",
]
"""The columns of the `tickets` table a ticket is opened with, that both bulk writers fill."""


async def insert_backlog(bench: Bench, count: int) -> list[uuid.UUID]:
    """Real tickets of the demo customer, with their timeline row and TicketCreated outbox row,
    written straight into the tickets database (the tickets service's relay publishes them)."""
    now = utcnow()
    rows = []
    for i in range(count):
        subject, body, program, topic = ticket_text(bench.rng)
        submitted = now - timedelta(milliseconds=count - i)
        rows.append((uuid.uuid4(), subject, body, program, topic, submitted))
    requester = (DEMO_ORG.id, ANA.user_id, ANA.email, ANA.display_name, "sl", "portal")
    async with bench.db("tickets") as conn, conn.transaction():
        await conn.copy_records_to_table(
            "tickets",
            columns=[*_OPENED_COLUMNS, "submitted_at", "topic"],
            records=[(t, *requester, s, b, p, at, tp) for t, s, b, p, tp, at in rows],
        )
        numbers = {
            r["id"]: r["number"]
            for r in await conn.fetch(
                "SELECT id, number FROM tickets WHERE id = ANY($1::uuid[])", [r[0] for r in rows]
            )
        }
        await conn.copy_records_to_table(
            "ticket_transitions",
            columns=["ticket_id", "kind", "to_status", "at", "actor_id", "actor_name"],
            records=[
                (r[0], "submitted", "waiting", r[5], ANA.user_id, ANA.display_name) for r in rows
            ],
        )
        outbox = []
        for t, s, b, p, tp, at in rows:
            envelope = _ticket_created(
                t, numbers[t], (s, b, p, tp), at, correlation="bench-backlog"
            )
            outbox.append(
                (
                    envelope.event_id,
                    envelope.event_type,
                    TICKETS_EVENTS,
                    envelope.key,
                    envelope.model_dump_json(),
                )
            )
        await conn.copy_records_to_table(
            "outbox",
            columns=["event_id", "event_type", "topic", "message_key", "envelope"],
            records=outbox,
        )
    return [r[0] for r in rows]


async def wait_until(
    probe: Callable[[], Awaitable[bool]], *, within: float, interval: float = 0.5
) -> float | None:
    """Seconds until `probe` is true, or None after `within` seconds."""
    started = time.perf_counter()
    while True:
        if await probe():
            return time.perf_counter() - started
        if time.perf_counter() - started > within:
            return None
        await asyncio.sleep(interval)


async def outbox_published(bench: Bench, service: str, *, within: float) -> float | None:
    async def done() -> bool:
        query = "SELECT count(*) FROM outbox WHERE published_at IS NULL"
        return await bench.count(service, query) == 0

    return await wait_until(done, within=within)


@dataclass(frozen=True)
class CatchUp:
    service: str
    target: int
    done: int
    ready_s: float
    total_s: float
    steady_rate: float | None
    samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def rate_from_start(self) -> float:
        return self.done / self.total_s if self.total_s else 0.0

    def rate_between(self, low: float, high: float) -> float | None:
        """Rows per second while the count went from `low` to `high` (fractions of the target)."""
        inside = [s for s in self.samples if low * self.target <= s[1] <= high * self.target]
        if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
            return None
        return (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])

    def describe(self) -> str:
        steady = f"{self.steady_rate:,.1f}" if self.steady_rate else "n/a"
        complete = "complete" if self.done >= self.target else "INCOMPLETE at the cap"
        early, late = self.rate_between(0.0, 0.2), self.rate_between(0.8, 1.0)
        return (
            f"{self.done:,}/{self.target:,} ({complete}) in {self.total_s:.1f} s from process "
            f"start (ready after {self.ready_s:.1f} s): steady {steady} events/s "
            f"(first fifth {early or 0:,.1f}/s, last fifth {late or 0:,.1f}/s), "
            f"{self.rate_from_start:,.1f} events/s from start"
        )


async def timed_catch_up(
    bench: Bench,
    service: str,
    *,
    database: str,
    query: str,
    since: datetime,
    target: int,
    cap_s: float | None = None,
) -> CatchUp:
    """Start `service`, poll `query` (count of effect rows since `since`) until `target` or
    the cap."""
    cap_s = cap_s or bench.sizes.catch_up_cap_s
    async with bench.db(database) as conn:
        # Rows of earlier runs can match too (the stack's business clock runs ahead of `since`).
        base = int(await conn.fetchval(query, since))
    started = time.perf_counter()
    bench.stack.processes[service].start()
    await bench.stack.wait_ready(service)
    ready = time.perf_counter() - started
    samples: list[tuple[float, int]] = []
    async with bench.db(database) as conn:
        while True:
            done = int(await conn.fetchval(query, since)) - base
            now = time.perf_counter() - started
            samples.append((now, done))
            if done >= target or now > cap_s:
                break
            await asyncio.sleep(0.2)  # a backlog of 2,000 may be done in 2 s
    moving = [s for s in samples if s[1] > 0]
    steady = None
    if len(moving) >= 2 and moving[-1][0] > moving[0][0]:
        steady = (moving[-1][1] - moving[0][1]) / (moving[-1][0] - moving[0][0])
    return CatchUp(service, target, samples[-1][1], ready, samples[-1][0], steady, samples)


async def billing_decides(
    bench: Bench, *, since: datetime, target: int, cap_s: float | None = None
) -> CatchUp:
    """Start billing and time its decisions over a TicketCreated backlog."""
    return await timed_catch_up(
        bench,
        "billing",
        database="billing",
        query="SELECT count(*) FROM decisions WHERE decided_at >= $1",
        since=since,
        target=target,
        cap_s=cap_s,
    )


async def retire(bench: Bench, since: datetime) -> int:
    """Mark the section's still-open tickets closed, directly in the database (harness
    housekeeping: the waiting list's length changes the cost of every POST)."""
    async with bench.db("tickets") as conn:
        result = await conn.execute(
            """UPDATE tickets SET status = 'closed', closed_at = now()
                WHERE created_at >= $1 AND status IN ('waiting', 'in_progress')""",
            since,
        )
    return int(result.split()[-1])


async def drain(bench: Bench, *, within: float | None = None) -> None:
    """Wait until the running consumers stopped moving, outboxes are published and notify has
    nothing pending; say how long it took (or what was left at the cap)."""
    within = within if within is not None else bench.sizes.drain_cap_s
    groups = {g: TOPICS_READ[g] for g in CONSUMERS if bench.running(g)}
    previous: dict[str, tuple[int, int]] | None = None
    stable = 0
    started = time.perf_counter()
    state = ""
    while time.perf_counter() - started < within:
        unpublished = {
            s: await bench.count(s, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
            for s in ("auth", "tickets", "billing")
        }
        pending = await bench.count("notify", "SELECT count(*) FROM emails WHERE status='pending'")
        lags = await group_lag(bench.bootstrap, groups) if groups else {}
        quiet = lags == previous and all(lag <= 20 for _, lag in lags.values())
        stable = stable + 1 if quiet else 0
        previous = lags
        state = (
            f"unpublished outbox {unpublished}, pending e-mails {pending}, "
            f"consumer lag ~{ {g: lag for g, (_, lag) in lags.items()} }"
        )
        if stable >= 3 and not any(unpublished.values()) and pending == 0:
            say(f"  (system quiescent after {time.perf_counter() - started:.0f} s)")
            return
        await asyncio.sleep(1)
    say(f"  (NOT quiescent after {within:.0f} s: {state}; going on)")


async def catch_up(bench: Bench) -> dict[str, CatchUp]:
    count = bench.sizes.backlog
    say("  auth: no consumer on a hot path (it only publishes accounts.events); not measured")
    await drain(bench)
    await bench.stop("billing", "notify")
    since = utcnow()
    started = time.perf_counter()
    await insert_backlog(bench, count)
    inserted = time.perf_counter() - started
    relay = await outbox_published(bench, "tickets", within=bench.sizes.catch_up_cap_s)
    say(
        f"  backlog: {count:,} tickets + timeline + outbox rows inserted in {inserted:.1f} s; "
        + (
            f"the tickets relay published them in {relay:.1f} s ({count / relay:,.0f} events/s)"
            if relay
            else "the tickets relay did NOT publish them all within the cap"
        )
    )
    await bench.stop("tickets")
    results: dict[str, CatchUp] = {}

    billing = await billing_decides(bench, since=since, target=count)
    results["billing"] = billing
    say(f"  billing on TicketCreated -> decisions: {billing.describe()}")
    await outbox_published(bench, "billing", within=120)
    await bench.stop("billing")
    classified = await bench.count(
        "billing",
        """SELECT count(*) FROM outbox WHERE event_type = 'TicketClassified'
            AND created_at >= $1 AND published_at IS NOT NULL""",
        since,
    )

    since_tickets = utcnow()
    tickets = await timed_catch_up(
        bench,
        "tickets",
        database="tickets",
        query="SELECT count(*) FROM tickets WHERE decision_version > 0 AND updated_at >= $1",
        since=since_tickets,
        target=classified,
    )
    results["tickets"] = tickets
    say(f"  tickets on TicketClassified -> decision on the ticket: {tickets.describe()}")
    await outbox_published(bench, "tickets", within=120)
    recorded = await bench.count(
        "tickets",
        "SELECT count(*) FROM outbox WHERE event_type='TicketDecisionRecorded' AND created_at>=$1",
        since_tickets,
    )
    on_topic = await bench.count(
        "tickets", "SELECT count(*) FROM outbox WHERE created_at >= $1", since
    )

    since_notify = utcnow()
    notify = await timed_catch_up(
        bench,
        "notify",
        database="notify",
        query="""SELECT count(*) FROM emails WHERE event_type = 'TicketDecisionRecorded'
                  AND created_at >= $1""",
        since=since_notify,
        target=recorded,
    )
    results["notify"] = notify
    say(
        f"  notify on tickets.events ({on_topic:,} backlog events, {recorded:,} of them "
        f"TicketDecisionRecorded) -> e-mail rows: {notify.describe()}"
    )
    if notify.steady_rate:
        say(
            f"    (per event on its topic: ~{notify.steady_rate * on_topic / recorded:,.1f} "
            "events/s)"
        )

    async def all_sent() -> bool:
        return (
            await bench.count("notify", "SELECT count(*) FROM emails WHERE status='pending'") == 0
        )

    sent_in = await wait_until(all_sent, within=bench.sizes.drain_cap_s, interval=1)
    sent = await bench.count(
        "notify", "SELECT count(*) FROM emails WHERE status='sent' AND created_at >= $1", since
    )
    say(
        f"  notify's SMTP sender: {sent:,} e-mails of the backlog sent; "
        + (
            f"nothing pending {sent_in:.1f} s after the e-mail rows were complete"
            if sent_in is not None
            else f"still some pending {bench.sizes.drain_cap_s} s after the rows were complete"
        )
    )
    await bench.start("billing", "tickets", "notify")
    retired = await retire(bench, since)
    say(f"  ({retired:,} backlog tickets marked closed afterwards)")
    return results


# --- (h) billing's catch-up with a long history -------------------------------------------------


async def billing_catch_up(bench: Bench, count: int, *, cap_s: float) -> CatchUp:
    """billing alone over a backlog of `count` TicketCreated (as in (c)), for at most `cap_s`;
    afterwards the chain runs again (billing only if it caught up) and the backlog's tickets
    are retired."""
    await bench.start(*CONSUMERS)
    await drain(bench)
    await bench.stop("billing", "notify")
    since = utcnow()
    await insert_backlog(bench, count)
    await outbox_published(bench, "tickets", within=bench.sizes.catch_up_cap_s)
    await bench.stop("tickets")
    result = await billing_decides(bench, since=since, target=count, cap_s=cap_s)
    if result.done < count:
        await bench.stop("billing")  # what it has left would compete with what comes next
        await bench.start("tickets", "notify")
    else:
        await bench.start(*CONSUMERS)
        await drain(bench)
    await retire(bench, since)
    return result


async def load_billing_history(bench: Bench, count: int) -> None:
    """COPY `count` earlier, resolved tickets of the demo organization into billing's own
    table (texts from the same generator as the backlog, so most of them are alike; a third
    of them the demo customer's, the rest of 50 colleagues)."""
    rng = random.Random(7)  # noqa: S311 - repeatable data, not secrets
    colleagues = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(50)]
    columns = ("ticket_id", "org_id", "number", "requester_id", "channel", "topic", "program",
               "subject", "body", "submitted_at", "resolved")  # fmt: skip
    started = time.perf_counter()
    rows = []
    for i in range(count):
        subject, body, program, topic = ticket_text(rng)
        requester = ANA.user_id if i % 3 == 0 else rng.choice(colleagues)
        submitted = random_past(rng, days=3 * 365) - timedelta(days=1)
        rows.append((uuid.uuid4(), DEMO_ORG.id, 50_000_000 + i, requester, "portal", topic,
                     program, subject, body, submitted, True))  # fmt: skip
    async with bench.db("billing") as conn:
        await conn.copy_records_to_table("tickets", columns=columns, records=rows)
        resolved = await conn.fetchval(
            "SELECT count(*) FROM tickets WHERE org_id = $1 AND resolved", DEMO_ORG.id
        )
    say(
        f"  {count:,} resolved tickets COPY-loaded into billing in "
        f"{time.perf_counter() - started:.0f} s; the demo organization has {resolved:,} resolved"
    )
    # Rows written behind billing's back, as migration 005 leaves older tickets: billing's own
    # filler computes their P-REPEAT bands when it starts.
    started = time.perf_counter()
    await bench.stop("billing")
    await bench.start("billing")
    missing = "SELECT count(*) FROM tickets WHERE repeat_bands IS NULL"
    filled = await wait_until(
        lambda: _none(bench, missing), within=bench.sizes.catch_up_cap_s, interval=1.0
    )
    async with bench.db("billing") as conn:
        await conn.execute("VACUUM (ANALYZE) tickets")
        await conn.execute("VACUUM (ANALYZE) repeat_bands")
    say(
        f"  billing computed the bands of {count:,} tickets in "
        + (f"{time.perf_counter() - started:.0f} s" if filled is not None else "more than the cap")
    )


async def _none(bench: Bench, query: str) -> bool:
    return await bench.count("billing", query) == 0


async def long_history(bench: Bench) -> dict[str, CatchUp]:
    count = bench.sizes.backlog
    cap = bench.sizes.decision_cap_s
    before = await billing_catch_up(bench, count, cap_s=cap)
    say(f"  billing, short history: {before.describe()}")
    await load_billing_history(bench, bench.sizes.history)
    after = await billing_catch_up(bench, count, cap_s=cap)
    say(f"  billing, long history: {after.describe()}")
    say(f"  long/short history: {ratio(after.steady_rate, before.steady_rate)}")
    return {"short": before, "long": after}


# --- (d) sustained open-loop load --------------------------------------------------------------


async def sustained(bench: Bench) -> dict[str, Any]:
    rate, seconds = bench.sizes.sustained_rate, bench.sizes.sustained_s
    await bench.start(*CONSUMERS)
    await drain(bench)
    headers = await bench.login(CUSTOMER.email)
    waiting = await bench.count("tickets", "SELECT count(*) FROM tickets WHERE status='waiting'")
    say(f"  waiting list before: {waiting:,} tickets")
    since = utcnow()
    total = rate * seconds
    # (scheduled wall-clock time, response seconds, status, ticket id)
    outcomes: list[tuple[float, float, int, uuid.UUID | None]] = []
    lags: list[float] = []
    errors: dict[int, str] = {}  # the first answer of each failing status
    base_wall = time.time()
    base = time.perf_counter()
    client = RawHttpClient(bench.stack.gateway_url, OPEN_LOOP_CONNECTIONS)
    async with client:

        async def one(i: int) -> None:
            scheduled = base + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            lags.append(time.perf_counter() - scheduled)
            subject, body, program, topic = ticket_text(bench.rng)
            document = {"subject": subject, "body": body, "program": program, "topic": topic}
            raw = client.request_bytes(
                "POST",
                "/api/tickets",
                json.dumps(document, ensure_ascii=False).encode(),
                {**headers, "Content-Type": "application/json"},
            )
            status, answer = await client.send(raw)
            ticket_id = uuid.UUID(json.loads(answer)["id"]) if status == 201 else None
            if status != 201:
                errors.setdefault(status, answer.decode(errors="replace")[:200])
            outcomes.append(
                (base_wall + i / rate, time.perf_counter() - scheduled, status, ticket_id)
            )

        async def undecided() -> int:
            return await bench.count(
                "tickets",
                "SELECT count(*) FROM tickets WHERE created_at >= $1 AND decision IS NULL",
                since,
            )

        cpu_before, cpu_started = (
            cpu_seconds(bench.all_pids(), alone=("benchmark",)),
            time.perf_counter(),
        )
        tasks = [asyncio.create_task(one(i)) for i in range(total)]
        samples: list[tuple[float, int, int]] = []
        load_over = False
        cap_at = None
        while True:
            await asyncio.sleep(5)
            now = time.perf_counter() - base
            left = await undecided()
            in_flight = sum(not t.done() for t in tasks)
            samples.append((now, left, in_flight))
            if not load_over and in_flight == 0:
                load_over, cap_at = True, now + bench.sizes.decision_cap_s
                spent = time.perf_counter() - cpu_started
                cpu = cpu_share(
                    cpu_before, cpu_seconds(bench.all_pids(), alone=("benchmark",)), spent
                )
                say(f"  CPU in cores while the POSTs were answered ({spent:.0f} s): {cpu}")
            if load_over and (left == 0 or (cap_at is not None and now > cap_at)):
                break
        await asyncio.gather(*tasks)
    for status, answer in errors.items():
        say(f"  a {status} answer: {answer}")
    return await _sustained_report(bench, since, outcomes, lags, samples)


async def _sustained_report(
    bench: Bench,
    since: datetime,
    outcomes: list[tuple[float, float, int, uuid.UUID | None]],
    lags: list[float],
    samples: list[tuple[float, int, int]],
) -> dict[str, Any]:
    rate, seconds = bench.sizes.sustained_rate, bench.sizes.sustained_s
    accepted = [o for o in outcomes if o[2] == 201]
    first_send = min(o[0] for o in outcomes)
    span = max(seconds, max(o[0] + o[1] for o in outcomes) - first_send)
    statuses = Counter(o[2] for o in outcomes)
    async with bench.db("tickets") as conn:
        rows = await conn.fetch(
            """SELECT id, updated_at, decision IS NOT NULL AS decided FROM tickets
                WHERE id = ANY($1::uuid[])""",
            [o[3] for o in accepted],
        )
    scheduled = {o[3]: o[0] for o in accepted}
    latencies = [r["updated_at"].timestamp() - scheduled[r["id"]] for r in rows if r["decided"]]
    undecided = len(accepted) - len(latencies)
    cap = samples[-1][0] if samples else 0.0
    ordered = sorted(latencies) + [float("inf")] * undecided

    def pct(fraction: float) -> str:
        value = percentile(ordered, fraction)
        return f"> {cap:.0f} s (undecided)" if value == float("inf") else fmt_ms(value)

    post = sorted(o[1] for o in accepted)
    lag_sorted = sorted(lags)
    during = [s for s in samples if s[0] <= seconds + 5]
    end_of_load = (during[-1][1] + during[-1][2]) if during else 0
    flat = end_of_load <= 2 * rate
    say(
        f"  offered {rate}/s for {seconds} s: {len(accepted):,}/{len(outcomes):,} accepted "
        f"over {span:.1f} s ({len(accepted) / span:.1f}/s), statuses {dict(statuses)}; "
        f"client lag behind the schedule p50 {fmt_ms(percentile(lag_sorted, 0.5))}, "
        f"p99 {fmt_ms(percentile(lag_sorted, 0.99))}"
    )
    say(
        f"  POST response (from scheduled send): p50 {fmt_ms(percentile(post, 0.5))}, "
        f"p99 {fmt_ms(percentile(post, 0.99))}, max {fmt_ms(post[-1] if post else float('nan'))}"
    )
    say(
        f"  POST -> decision on the ticket: p50 {pct(0.5)}, p90 {pct(0.9)}, p99 {pct(0.99)}, "
        f"max {pct(1.0)}; {undecided:,} still undecided after {cap:.0f} s"
    )
    if undecided and latencies:
        decided = sorted(latencies)
        say(
            f"    (the {len(decided):,} decided ones alone: p50 {fmt_ms(percentile(decided, 0.5))}"
            f", p99 {fmt_ms(percentile(decided, 0.99))}, max {fmt_ms(decided[-1])})"
        )
    say(
        "  undecided tickets every 5 s (t: undecided/POSTs in flight): "
        + ", ".join(f"{t:.0f}s: {n}/{f}" for t, n, f in samples)
    )
    say(
        f"  backlog {'stayed flat' if flat else 'GREW'}: {end_of_load:,} tickets unanswered or "
        f"undecided {during[-1][0] if during else 0:.0f} s after the load began"
    )
    await _stages_report(bench, scheduled, [r["id"] for r in rows if r["decided"]])
    retired = await retire(bench, since)
    say(f"  ({retired:,} tickets of the section marked closed afterwards)")
    return {
        "cap": cap,
        "accepted_rate": len(accepted) / span,
        "p50": percentile(ordered, 0.5),
        "p99": percentile(ordered, 0.99),
        "flat": flat,
        "undecided": undecided,
    }


STAGES = (
    "POST transaction begun",
    "TicketCreated published (tickets relay)",
    "billing handles it (broker hop)",
    "TicketClassified published (billing relay)",
    "decision on the ticket (broker hop)",
)


async def _stages_report(
    bench: Bench, scheduled: dict[uuid.UUID | None, float], decided: list[uuid.UUID]
) -> None:
    """Where a decided ticket's time went, each step's median and p99 from the previous one:
    the databases' own timestamps (outbox `created_at`/`published_at`, billing's inbox
    `processed_at`, the ticket's `updated_at`: `now()` of their transactions, so the wall clock,
    not the business clock)."""
    keys = [str(t) for t in decided]
    async with bench.db("billing") as conn:
        billing = {
            r["message_key"]: r
            for r in await conn.fetch(
                """SELECT o.message_key, i.processed_at, o.published_at
                     FROM outbox o
                     JOIN inbox i ON i.consumer = 'billing'
                      AND i.event_id = (o.envelope->>'causation_id')::uuid
                    WHERE o.event_type = 'TicketClassified' AND o.message_key = ANY($1::text[])""",
                keys,
            )
        }
    async with bench.db("tickets") as conn:
        tickets = await conn.fetch(
            """SELECT t.id, o.created_at, o.published_at, t.updated_at
                 FROM tickets t
                 JOIN outbox o ON o.message_key = t.id::text AND o.event_type = 'TicketCreated'
                WHERE t.id = ANY($1::uuid[])""",
            decided,
        )
    steps: list[list[float]] = [[] for _ in STAGES]
    for row in tickets:
        other = billing.get(str(row["id"]))
        if other is None:
            continue
        moments = [
            scheduled[row["id"]],
            row["created_at"].timestamp(),
            row["published_at"].timestamp(),
            other["processed_at"].timestamp(),
            other["published_at"].timestamp(),
            row["updated_at"].timestamp(),
        ]
        for i in range(len(STAGES)):
            steps[i].append(moments[i + 1] - moments[i])
    if not steps[0]:
        say("  (no decided ticket could be followed through both databases)")
        return
    say(f"  where the time went ({len(steps[0]):,} tickets; each step from the previous one):")
    for name, values in zip(STAGES, steps, strict=True):
        values.sort()
        say(
            f"    {name:<45} p50 {fmt_ms(percentile(values, 0.5)):>8}, "
            f"p99 {fmt_ms(percentile(values, 0.99)):>8}"
        )


# --- (e) POST throughput -------------------------------------------------------------------------


class MinimalTicketIn(BaseModel):
    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=20000)
    program: str | None = Field(default=None, max_length=100)
    topic: str = "other"


def minimal_app() -> FastAPI:
    """The minimal endpoint of (e): `uvicorn --factory benchmarks.pipeline:minimal_app`, database
    from BENCH_MINIMAL_DATABASE_URL (the tickets database). The same transaction as the tickets
    service's submission: ticket row, timeline row, TicketCreated outbox row."""
    dsn = os.environ["BENCH_MINIMAL_DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=10)
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/tickets", status_code=201)
    async def submit(ticket: MinimalTicketIn) -> dict[str, Any]:
        ticket_id, now = uuid.uuid4(), datetime.now(UTC)
        pool: asyncpg.Pool = app.state.pool
        async with pool.acquire() as conn, conn.transaction():
            number = await conn.fetchval(
                """INSERT INTO tickets (id, org_id, requester_id, requester_email, requester_name,
                                        requester_language, channel, subject, body, program,
                                        submitted_at, topic)
                   VALUES ($1, $2, $3, $4, $5, 'sl', 'portal', $6, $7, $8, $9, $10)
                   RETURNING number""",
                ticket_id,
                DEMO_ORG.id,
                ANA.user_id,
                ANA.email,
                ANA.display_name,
                ticket.subject,
                ticket.body,
                ticket.program,
                now,
                ticket.topic,
            )
            await conn.execute(
                """INSERT INTO ticket_transitions (ticket_id, kind, to_status, at, actor_id,
                                                   actor_name)
                   VALUES ($1, 'submitted', 'waiting', $2, $3, $4)""",
                ticket_id,
                now,
                ANA.user_id,
                ANA.display_name,
            )
            created = TicketCreated(
                ticket_id=ticket_id,
                number=number,
                org_id=DEMO_ORG.id,
                requester=ANA,
                channel="portal",
                subject=ticket.subject,
                body=ticket.body,
                program=ticket.program,
                submitted_at=now,
                topic=ticket.topic,
            )
            envelope = new_envelope(
                created,
                source="tickets",
                aggregate_id=str(ticket_id),
                aggregate_version=1,
                org_id=DEMO_ORG.id,
                correlation_id=str(uuid.uuid4()),
                occurred_at=utcnow(),
            )
            await conn.execute(
                """INSERT INTO outbox (event_id, event_type, topic, message_key, envelope,
                                       published_at)
                   VALUES ($1, $2, $3, $4, $5::jsonb, now())""",
                envelope.event_id,
                envelope.event_type,
                TICKETS_EVENTS,
                envelope.key,
                envelope.model_dump_json(),
            )
        return {"id": str(ticket_id), "number": number, "status": "waiting"}

    return app


async def _start_minimal(bench: Bench) -> tuple[ChildProcess, str]:
    port = free_port()
    process = ChildProcess(
        "minimal",
        uvicorn_argv("benchmarks.pipeline:minimal_app", port),
        log_path=bench.stack.log_dir / "minimal.log",
        env={
            **os.environ,
            "BENCH_MINIMAL_DATABASE_URL": bench.dsn("tickets"),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        },
        cwd=ROOT,
    )
    process.start()
    url = f"http://127.0.0.1:{port}"

    async def up() -> bool:
        if not process.running():
            raise RuntimeError(f"minimal endpoint exited:\n{process.log_tail()}")
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"{url}/healthz")).status_code == 200
        except httpx.HTTPError:
            return False

    if await wait_until(up, within=30, interval=0.2) is None:
        raise TimeoutError("minimal endpoint did not start")
    return process, url


async def post_throughput(bench: Bench) -> dict[str, WrkResult]:
    await bench.stop("billing", "notify")
    minimal, minimal_url = await _start_minimal(bench)
    subject, body, program, topic = ticket_text(random.Random(7))  # noqa: S311
    payload = json.dumps(
        {"subject": subject, "body": body, "program": program, "topic": topic},
        ensure_ascii=False,
    )
    results: dict[str, WrkResult] = {}
    try:
        targets = tuple(
            zip(
                POST_TARGETS,
                (bench.stack.gateway_url, bench.stack.urls["tickets"], minimal_url),
                strict=True,
            )
        )
        for label, base_url in targets:
            url = f"{base_url}/api/tickets"
            waiting = await bench.count(
                "tickets", "SELECT count(*) FROM tickets WHERE status='waiting'"
            )
            since = utcnow()
            headers = {"Content-Type": "application/json", **await bench.login(CUSTOMER.email)}
            await run_wrk(
                url,
                method="POST",
                body=payload,
                headers=headers,
                connections=32,
                seconds=2,
                timeout_s=10,
            )  # warm-up
            cpu_before = cpu_seconds(bench.all_pids(), alone=("benchmark",))
            result = await run_wrk(
                url,
                method="POST",
                body=payload,
                headers=headers,
                connections=32,
                seconds=bench.sizes.wrk_s,
                timeout_s=10,
            )
            cpu = cpu_share(
                cpu_before, cpu_seconds(bench.all_pids(), alone=("benchmark",)), result.seconds
            )
            results[label] = result
            say(f"  {label:<24} {result.describe()} (waiting list before: {waiting:,})")
            say(
                f"    CPU in cores: {cpu} (benchmark: this process without its children; "
                "wrk not counted)"
            )
            await outbox_published(bench, "tickets", within=120)
            await retire(bench, since)
    finally:
        await asyncio.to_thread(minimal.stop)
    gateway, direct, minimal_result = (results.get(t[0]) for t in targets)
    say(
        f"  ratios: gateway/minimal {ratio(_rate(gateway), _rate(minimal_result))}, "
        f"tickets service/minimal {ratio(_rate(direct), _rate(minimal_result))}, "
        f"gateway/tickets service {ratio(_rate(gateway), _rate(direct))} (throughput); "
        f"p99 gateway/minimal {ratio(_p99(gateway), _p99(minimal_result))}, "
        f"tickets service/minimal {ratio(_p99(direct), _p99(minimal_result))}"
    )
    return results


def _rate(result: WrkResult | None) -> float | None:
    return result.good_rate if result else None


def _p99(result: WrkResult | None) -> float | None:
    return result.p99 if result and result.requests else None


# --- (g) reading probes ------------------------------------------------------------------------

_STATUS_MIX = (
    ("closed", 0.78),
    ("refused", 0.08),
    ("resolved", 0.06),
    ("in_progress", 0.04),
    ("waiting", 0.01),
)
_BULK_COLUMNS = [
    *_OPENED_COLUMNS,
    "status",
    "submitted_at",
    "version",
    "decision",
    "decision_stage",
    "decision_version",
    "decision_reasons",
    "policy_version",
    "decided_at",
    "topic",
    "assignee",
    "accepted_at",
    "resolution",
    "resolved_at",
    "resolved_by",
    "closed_at",
    "refused_at",
]


def _bulk_row(rng: random.Random) -> tuple[Any, ...]:
    draw, status = rng.random(), "closed"
    for name, share in _STATUS_MIX:
        if draw < share:
            status = name
            break
        draw -= share
    else:
        status = "closed"
    subject, body, program, topic = ticket_text(rng)
    if status == "waiting":
        submitted = random_past(rng, days=2)
    elif status == "in_progress":
        submitted = random_past(rng, days=7)
    elif status == "resolved":
        submitted = random_past(rng, days=13)  # inside the reopening window: no auto-close
    else:
        submitted = random_past(rng, days=5 * 365) - timedelta(days=14)
    decided = submitted + timedelta(seconds=rng.uniform(0.2, 5))
    accepted = submitted + timedelta(hours=rng.uniform(0.1, 24))
    resolved = accepted + timedelta(hours=rng.uniform(0.1, 48))
    if status == "resolved":
        resolved = min(resolved, utcnow() - timedelta(minutes=1))
    decision = "refused" if status == "refused" else rng.choice(("free", "free", "paid"))
    worked = status in ("in_progress", "resolved", "closed")
    done = status in ("resolved", "closed")
    consultant = json.dumps(
        {
            "user_id": str(CONSULTANT.id),
            "email": CONSULTANT.email,
            "display_name": CONSULTANT.display_name,
            "language": "sl",
        }
    )
    resolution = json.dumps(
        {
            "text": "Nastavitev tiskalnika smo popravili na daljavo.",
            "time_spent_minutes": rng.randint(5, 90),
            "remote_session": True,
            "data_correction": False,
            "training": False,
            "doc_reference": None,
            "other_remote_service": False,
        },
        ensure_ascii=False,
    )
    return (
        uuid.uuid4(),
        DEMO_ORG.id,
        ANA.user_id,
        ANA.email,
        ANA.display_name,
        "sl",
        "portal",
        subject,
        body,
        program,
        status,
        submitted,
        4 if done else 2,
        decision,
        "final" if done else "provisional",
        2 if done else 1,
        "[]",
        "2026.11.1",
        decided,
        topic,
        consultant if worked else None,
        accepted if worked else None,
        resolution if done else None,
        resolved if done else None,
        CONSULTANT.id if done else None,
        resolved + timedelta(days=14) if status == "closed" else None,
        decided if status == "refused" else None,
    )


async def bulk_load(bench: Bench, count: int) -> uuid.UUID:
    """COPY `count` tickets into the tickets database; return the id of one ticket in work."""
    rng = random.Random(2026)  # noqa: S311 - repeatable data, not secrets
    sample: uuid.UUID | None = None
    started = time.perf_counter()
    columns = ", ".join(_BULK_COLUMNS)
    async with bench.db("tickets") as conn:
        # Through a staging table, then into `tickets` in submission order: the service writes a
        # ticket when it is submitted, so its table is in that order (and numbers rise with it).
        await conn.execute(
            "CREATE UNLOGGED TABLE bulk_stage AS SELECT " + columns + " FROM tickets WITH NO DATA"
        )
        for chunk in range(0, count, 50_000):
            rows = [_bulk_row(rng) for _ in range(min(50_000, count - chunk))]
            sample = sample or next((r[0] for r in rows if r[10] == "in_progress"), None)
            await conn.copy_records_to_table("bulk_stage", columns=_BULK_COLUMNS, records=rows)
        await conn.execute(
            f"INSERT INTO tickets ({columns}) "
            f"SELECT {columns} FROM bulk_stage ORDER BY submitted_at"
        )
        await conn.execute("DROP TABLE bulk_stage")
        loaded = time.perf_counter() - started
        await conn.execute("VACUUM (ANALYZE) tickets")
        statuses = await conn.fetch("SELECT status, count(*) FROM tickets GROUP BY 1 ORDER BY 2")
    say(
        f"  {count:,} tickets COPY-loaded in {loaded:.0f} s (+ VACUUM ANALYZE "
        f"{time.perf_counter() - started - loaded:.0f} s); statuses now: "
        + ", ".join(f"{r['status']} {r['count']:,}" for r in statuses)
    )
    assert sample is not None
    return sample


async def reading(bench: Bench) -> dict[str, WrkResult]:
    await bench.stop("billing", "notify")
    count = bench.sizes.reading_tickets
    sample = await bulk_load(bench, count)
    deep = 500_000 if count >= 1_000_000 else count // 2
    async with bench.db("tickets") as conn:
        row = await conn.fetchrow(
            """SELECT submitted_at, id FROM tickets WHERE org_id = $1
                ORDER BY submitted_at DESC, id DESC OFFSET $2 LIMIT 1""",
            DEMO_ORG.id,
            deep,
        )
    deep_cursor = encode_cursor(row["submitted_at"], row["id"])
    customer = await bench.login(CUSTOMER.email)
    consultant = await bench.login(CONSULTANT.email)
    probes = (
        ("customer's first page", "/api/tickets", customer),
        (f"page after row {deep:,}", f"/api/tickets?cursor={deep_cursor}", customer),
        ("status=in_progress", "/api/tickets?status=in_progress", customer),
        ("q=inventura tiskanju", "/api/tickets?q=inventura%20tiskanju", customer),
        ("one ticket", f"/api/tickets/{sample}", customer),
        ("consultant's queue", "/api/tickets/queue", consultant),
    )
    results: dict[str, WrkResult] = {}
    seconds = bench.sizes.probe_s
    async with httpx.AsyncClient(base_url=bench.stack.gateway_url, timeout=20) as client:
        for label, path, headers in probes:
            single = await _single(client, path, headers)
            result = await run_wrk(
                bench.stack.gateway_url + path,
                headers=headers,
                connections=8,
                seconds=seconds,
                timeout_s=seconds,
            )
            results[label] = result
            say(f"  {label:<24} once: {single}; 8 connections: {result.describe()}")
            still = await wait_db_idle(bench.admin_dsn, "ticketing_tickets")
            if still:
                say(f"    ({still} queries still running in the tickets database after 15 s)")
    return results


async def _single(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> str:
    started = time.perf_counter()
    try:
        response = await client.get(path, headers=headers)
    except httpx.TimeoutException:
        return "NO ANSWER within 20 s"
    elapsed = time.perf_counter() - started
    extra = ""
    if response.status_code == 200:
        data = response.json()
        if "items" in data:
            extra = f", {len(data['items'])} items"
    return f"{response.status_code} in {fmt_ms(elapsed)}{extra}"


# --- problems and memory -------------------------------------------------------------------------


def memory_report(sampler: MemorySampler) -> None:
    for entry in sorted(sampler.seen.values(), key=lambda e: (e.name, e.pid)):
        say(
            f"  {entry.name:<8} pid {entry.pid:<7} first {entry.first_mb:6.0f} MB, peak "
            f"{entry.peak_mb:6.0f} MB, last {entry.last_mb:6.0f} MB ({entry.samples} samples)"
        )


async def problems_report(bench: Bench) -> None:
    letters = await dead_letters(bench.bootstrap, DEAD_LETTER)
    if letters:
        reasons = Counter((h.get("dlq_consumer"), h.get("dlq_reason")) for h in letters)
        say(f"  dead-letter topic: {len(letters)} records: {dict(reasons)}")
        for h in letters[:3]:
            say(f"    e.g. {h.get('event_type')}: {h.get('dlq_error', '')[:200]}")
    else:
        say("  dead-letter topic: empty")
    for name in bench.stack.processes:
        path = bench.stack.log_dir / f"{name}.log"
        levels: Counter[str] = Counter()
        events: Counter[str] = Counter()
        for line in path.read_text(errors="replace").splitlines() if path.exists() else ():
            try:
                entry = json.loads(line)
            except ValueError:
                if any(w in line for w in ("Traceback", "Error", "Warning")):
                    levels["plain-text warning/traceback"] += 1
                    events[line[:120]] += 1
                continue
            level = entry.get("level", "")
            if level in ("warning", "error", "critical"):
                levels[level] += 1
                events[f"{level}: {entry.get('event', '')}"[:160]] += 1
        if levels:
            say(f"  {name} log: {dict(levels)}; most frequent: {events.most_common(4)}")
        else:
            say(f"  {name} log: no warnings or errors")
    for name, process in bench.stack.processes.items():
        code = process.process.poll() if process.process is not None else None
        if code not in (None, 0, -15):  # uvicorn re-raises SIGTERM after a clean stop
            say(f"  {name} exited with code {code}")


# --- main ----------------------------------------------------------------------------------------

SECTIONS = "abcdefgh"


def header(args: argparse.Namespace, sizes: Sizes) -> None:
    import services

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    say(f"pipeline benchmark, {'short' if args.short else 'full'} mode, sections {args.only}")
    say(
        f"code: {Path(services.__file__).parent} (commit {commit or '?'}), python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}"
    )
    say(f"sizes: {sizes}")


async def run(args: argparse.Namespace) -> None:
    sizes = Sizes.of(args.short)
    configure_logging("bench", fmt="console", level="WARNING")  # quiet devstack's own lines
    header(args, sizes)
    state = Path(tempfile.mkdtemp(prefix="ticketing-pipeline-"))
    sink = _TraceSink() if args.tracing else None
    extra_env = sink.env(args.trace_ratio, args.traces_per_second) if sink else {}
    if sink:
        say(
            f"traces: on, exported to {sink.url}; share of new traces "
            f"{extra_env.get('OTEL_TRACES_SAMPLER_ARG', '1 (default)')}, at most "
            f"{extra_env.get('TRACES_PER_SECOND', '10 (default)')} a second per process"
        )
    else:
        say("traces: off")
    stack = Stack(StackConfig(state_dir=state, gateway_port=free_port(), extra_env=extra_env))
    sampler = MemorySampler()
    bench = Bench(stack, sizes, random.Random(42))  # noqa: S311
    started = time.perf_counter()
    try:
        await stack.start()
        assert stack.endpoints is not None
        say(f"stack ready in {time.perf_counter() - started:.1f} s: {stack.endpoints.description}")
        say(f"business time: {_working_morning(stack)} (the stack's clock; docs/time.md)")
        say(f"service processes' PYTHONPATH: {_child_pythonpath(stack.processes['tickets'].pid)}")
        sampler.start(bench.pids)
        await _sections(bench, args.only)
        if "f" in args.only:
            say("\n(f) resident memory of the service processes")
            sampler.sample(bench.pids())
            memory_report(sampler)
        say("\nproblems seen")
        await problems_report(bench)
        _summary(bench)
    finally:
        await sampler.stop()
        await stack.stop()
        if sink is not None:
            say(f"trace sink: {sink.requests} export requests, {sink.bytes:,} bytes")
            sink.endpoint.stop()
        if args.keep_state:
            say(f"state and logs kept in {state}")
        else:
            shutil.rmtree(state, ignore_errors=True)
    say(f"\ntotal {time.perf_counter() - started:.0f} s")


class _TraceSink:
    """An OTLP/HTTP endpoint that takes every export and keeps only its size."""

    def __init__(self) -> None:
        self.requests = self.bytes = 0
        self.endpoint = OtlpEndpoint(self._take)
        self.url = self.endpoint.url
        self.endpoint.start()

    def _take(self, body: bytes) -> None:
        self.requests += 1
        self.bytes += len(body)

    def env(self, ratio: float | None, per_second: float | None) -> dict[str, str]:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": self.url}
        if ratio is not None:
            env["OTEL_TRACES_SAMPLER_ARG"] = str(ratio)
        if per_second is not None:
            env["TRACES_PER_SECOND"] = str(per_second)
        return env


def _working_morning(stack: Stack) -> str:
    """Set the stack's business time to the next Tuesday 10:00 in Ljubljana (working time)."""
    zone = ZoneInfo("Europe/Ljubljana")
    day = datetime.now(zone).date() + timedelta(days=1)
    while day.weekday() != 1:
        day += timedelta(days=1)
    moment = datetime(day.year, day.month, day.day, 10, 0, tzinfo=zone)
    stack.clock.set(moment)
    return moment.isoformat()


def _child_pythonpath(pid: int) -> str:
    """What a service process imports from (read from /proc, so it is the child's own)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return "?"
    found = [e.split(b"=", 1)[1].decode() for e in environ if e.startswith(b"PYTHONPATH=")]
    return found[0] if found else "(unset: the installed packages)"


async def _sections(bench: Bench, only: str) -> None:
    plan: list[tuple[str, str, Callable[[], Awaitable[Any]]]] = [
        ("a", "raw aiokafka hop, no database", lambda: raw_hop(bench, with_db=False)),
        ("b", "raw hop + inbox/state/outbox per batch", lambda: raw_hop(bench, with_db=True)),
        ("c", f"catch-up over a backlog of {bench.sizes.backlog:,}", lambda: catch_up(bench)),
        (
            "d",
            f"open loop {bench.sizes.sustained_rate}/s for {bench.sizes.sustained_s} s",
            lambda: sustained(bench),
        ),
        ("e", "POST /api/tickets at 32 connections", lambda: post_throughput(bench)),
        (
            "h",
            f"billing's catch-up before and after {bench.sizes.history:,} earlier tickets",
            lambda: long_history(bench),
        ),
        (
            "g",
            f"reading probes on {bench.sizes.reading_tickets:,} tickets",
            lambda: reading(bench),
        ),
    ]
    for letter, title, section in plan:
        if letter not in only:
            continue
        say(f"\n({letter}) {title}")
        started = time.perf_counter()
        try:
            bench.results[letter] = await section()
        except Exception as error:
            say(f"  SECTION FAILED: {error!r}")
        say(f"  [{letter} took {time.perf_counter() - started:.0f} s]")


def _summary(bench: Bench) -> None:
    r = bench.results
    say("\nsummary")
    raw, db = r.get("a"), r.get("b")
    if raw:
        say(f"  (a) raw hop                        {raw:9,.0f} events/s")
    if db:
        say(f"  (b) raw hop + database             {db:9,.0f} events/s   (b)/(a) {ratio(db, raw)}")
    for name, result in (r.get("c") or {}).items():
        say(
            f"  (c) {name:<8} catch-up             {result.steady_rate or 0:9,.1f} events/s   "
            f"/(b) {ratio(result.steady_rate, db)}, /(a) {ratio(result.steady_rate, raw)}"
        )
    if "c" in r:
        say("  (c) auth: no hot consumer")
    if d := r.get("d"):

        def late(value: float) -> str:
            return f"> {d['cap']:.0f} s" if value == float("inf") else fmt_ms(value)

        say(
            f"  (d) {bench.sizes.sustained_rate}/s offered: {d['accepted_rate']:.1f}/s accepted, "
            f"decision p50 {late(d['p50'])}, p99 {late(d['p99'])}, backlog "
            f"{'flat' if d['flat'] else 'grew'}, {d['undecided']:,} undecided at the cap"
        )
    if e := r.get("e"):
        for label, result in e.items():
            say(f"  (e) {label:<24} {result.good_rate:8.1f} req/s, p99 {fmt_ms(result.p99)}")
        gateway, direct, minimal = (e.get(k) for k in POST_TARGETS)
        say(
            f"  (e) throughput gateway/minimal {ratio(_rate(gateway), _rate(minimal))}, "
            f"tickets service/minimal {ratio(_rate(direct), _rate(minimal))}; p99 "
            f"gateway/minimal {ratio(_p99(gateway), _p99(minimal))}, tickets service/minimal "
            f"{ratio(_p99(direct), _p99(minimal))}"
        )
    if h := r.get("h"):
        short, long = h["short"], h["long"]
        say(
            f"  (h) billing catch-up, short history {short.steady_rate or 0:9,.1f} events/s, "
            f"after {bench.sizes.history:,} earlier tickets {long.steady_rate or 0:,.1f} events/s "
            f"(long/short {ratio(long.steady_rate, short.steady_rate)})"
        )
    if g := r.get("g"):
        for label, result in g.items():
            p99 = fmt_ms(result.p99) if result.requests else "no answer"
            say(f"  (g) {label:<24} p99 {p99:>10}, {result.rate:.1f} req/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="smaller sizes (a few minutes)")
    parser.add_argument("--only", default=SECTIONS, help="sections to run, e.g. a,b,c")
    parser.add_argument("--keep-state", action="store_true", help="keep logs and state")
    parser.add_argument(
        "--tracing", action="store_true", help="services export OpenTelemetry traces (a sink)"
    )
    parser.add_argument(
        "--trace-ratio", type=float, default=None, help="share of new traces kept (default 1)"
    )
    parser.add_argument(
        "--traces-per-second",
        type=float,
        default=None,
        help="new traces each process keeps a second at most (default 10)",
    )
    args = parser.parse_args()
    args.only = "".join(c for c in args.only if c in SECTIONS) or SECTIONS
    if shutil.which("wrk") is None and set(args.only) & {"e", "g"}:
        sys.exit("wrk is needed for sections e and g: apt-get install -y wrk")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
