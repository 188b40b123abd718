"""Helpers of `benchmarks/pipeline.py`: texts, statistics, wrk, memory samples, Kafka and
database utilities. Nothing here measures by itself."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import psutil  # type: ignore[import-untyped]
from aiokafka import AIOKafkaConsumer, TopicPartition

from devstack.training import DEMO_PROGRAMS

# --- Slovenian-looking texts ------------------------------------------------------------------

_SUBJECTS = (
    "Napaka pri tiskanju računa",
    "Obračun plač za {month} ne gre skozi",
    "Inventura ne prikaže zalog",
    "Kako vnesem bolniško odsotnost",
    "DDV obračun za {month} kaže razliko",
    "Izvoz v eSlog ne deluje",
    "Težava s prijavo v program",
    "Popravek temeljnice št. {n}",
    "Manjka gumb za potrditev naročila",
    "Počasno odpiranje šifranta strank",
    "Zaključek leta in prenos stanj",
    "Napačen izračun regresa",
    "Kadrovska evidenca: sprememba delovnega mesta",
    "Fakturiranje: dobropis za račun {n}",
    "Izpis plačilne liste v angleščini",
    "Uvoz bančnega izpiska ISO 20022",
    "Opomini kupcem niso poslani",
    "Tiskanje nalepk za artikle",
    "Ročni vnos potnih nalogov",
    "Osnovna sredstva: amortizacija za {month}",
)
_SENTENCES = (
    "Ko poskušam natisniti račun št. {n}, program javi napako.",
    "Včeraj je še delovalo, danes pa ne več.",
    "Prosim za navodila, kako to popravim.",
    "Težava se pojavi pri vseh uporabnikih v podjetju.",
    "Pri obračunu za {month} se znesek ne ujema z lanskim.",
    "Sodelavka pravi, da je šifrant strank prazen.",
    "Na zaslonu piše, da povezava s strežnikom ni mogoča.",
    "Ali je treba najprej zapreti obdobje?",
    "Poskusili smo že ponovni zagon računalnika.",
    "Gre za podjetje s {n} zaposlenimi.",
    "V priponki je posnetek zaslona z napako.",
    "Izpis DDV-O obrazca kaže drugačno osnovo kot knjiga izdanih računov.",
    "Čakamo na izplačilo plač, zato je zadeva nujna.",
    "Pri vnosu šumnikov (č, š, ž) se črke zamenjajo z vprašaji.",
    "Kje nastavim privzeti tiskalnik za dobavnice?",
    "Kupec trdi, da e-računa ni prejel.",
    "Stanje zaloge v skladišču {n} je negativno.",
    "Ne najdem več poročila o prometu po kontih.",
    "Hvala za hiter odgovor.",
)
_MONTHS = (
    "januar",
    "februar",
    "marec",
    "april",
    "maj",
    "junij",
    "julij",
    "avgust",
    "september",
    "oktober",
    "november",
    "december",
)
RARE_SENTENCE = "Zatakne se pri koraku inventura tiskanju popisnih listov."
RARE_SHARE = 0.005
"""Share of texts with the words the reading probe searches for (`q=inventura tiskanju`)."""
TOPICS = ("program_usage", "legislation", "business_organization", "data_correction", "other")
NOT_ONBOARDED_PROGRAM = "Skladišče"  # the demo customer was not onboarded for it: R-NOT-ONBOARDED


def _fill(template: str, rng: random.Random) -> str:
    return template.format(n=rng.randint(1, 9999), month=rng.choice(_MONTHS))


def ticket_text(rng: random.Random) -> tuple[str, str, str | None, str]:
    """(subject, body, program, topic) of a plausible help request; about 5 % name a program
    the demo customer was not onboarded for (billing refuses those)."""
    subject = _fill(rng.choice(_SUBJECTS), rng)
    sentences = [_fill(s, rng) for s in rng.sample(_SENTENCES, rng.randint(2, 4))]
    if rng.random() < RARE_SHARE:
        sentences.insert(1, RARE_SENTENCE)
    body = " ".join(sentences)
    draw = rng.random()
    if draw < 0.05:
        program: str | None = NOT_ONBOARDED_PROGRAM
    elif draw < 0.25:
        program = None
    else:
        program = rng.choice(DEMO_PROGRAMS)
    return subject, body, program, rng.choice(TOPICS)


# --- statistics --------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def fmt_ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "n/a"
    if seconds >= 10:
        return f"{seconds:.1f} s"
    return f"{seconds * 1000:.0f} ms"


def ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return "n/a"
    return f"{numerator / denominator:.3f}"


# --- resident memory ---------------------------------------------------------------------------


@dataclass
class ProcessMemory:
    name: str
    pid: int
    first_mb: float
    last_mb: float
    peak_mb: float
    samples: int = 1


@dataclass
class MemorySampler:
    """Samples the RSS of the stack's processes every `interval` seconds (psutil)."""

    interval: float = 2.0
    seen: dict[tuple[str, int], ProcessMemory] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None

    def sample(self, pids: dict[str, int]) -> None:
        for name, pid in pids.items():
            try:
                rss = psutil.Process(pid).memory_info().rss / 2**20
            except psutil.Error:
                continue
            entry = self.seen.get((name, pid))
            if entry is None:
                self.seen[(name, pid)] = ProcessMemory(name, pid, rss, rss, rss)
            else:
                entry.last_mb, entry.peak_mb = rss, max(entry.peak_mb, rss)
                entry.samples += 1

    def start(self, pids_of: Any) -> None:
        async def loop() -> None:
            while True:
                self.sample(pids_of())
                await asyncio.sleep(self.interval)

        self._task = asyncio.create_task(loop(), name="rss-sampler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def cpu_seconds(pids: Mapping[str, int], *, alone: Sequence[str] = ()) -> dict[str, float]:
    """CPU time (user + system) used so far by each named process and its children (so that
    PostgreSQL counts its backends); the processes named in `alone` without their children."""
    used = {}
    for name, pid in pids.items():
        try:
            process = psutil.Process(pid)
            total = sum(process.cpu_times()[:2])
            children = () if name in alone else process.children(recursive=True)
            for child in children:
                with contextlib.suppress(psutil.Error):
                    total += sum(child.cpu_times()[:2])
        except psutil.Error:
            continue
        used[name] = total
    return used


class RawHttpClient:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams for the open-loop load of (d):
    `connections` workers take requests from a queue, so the client's own cost per request is a
    few tens of microseconds (httpx costs far more) and never decides the figures."""

    def __init__(self, url: str, connections: int) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.connections = connections
        self.queue: asyncio.Queue[tuple[bytes, asyncio.Future[tuple[int, bytes]]] | None] = (
            asyncio.Queue()
        )
        self._workers: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> RawHttpClient:
        self._workers = [asyncio.create_task(self._worker()) for _ in range(self.connections)]
        return self

    async def __aexit__(self, *_: object) -> None:
        for _worker in self._workers:
            self.queue.put_nowait(None)
        await asyncio.gather(*self._workers, return_exceptions=True)

    def request_bytes(
        self, method: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> bytes:
        head = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        head.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        """Queue one request; return (status, body). Status 0: the connection failed."""
        done: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((raw, done))
        return await done

    async def _worker(self) -> None:
        reader = writer = None
        while (item := await self.queue.get()) is not None:
            raw, done = item
            try:
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                done.set_result((status, body))
            except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                if writer is not None:
                    writer.close()
                reader = writer = None
                if not done.done():
                    done.set_result((0, repr(error).encode()))
        if writer is not None:
            writer.close()


def cpu_share(before: Mapping[str, float], after: Mapping[str, float], seconds: float) -> str:
    """Each process's CPU use between two `cpu_seconds` snapshots, in cores."""
    parts = [
        f"{name} {(after[name] - before.get(name, 0.0)) / seconds:.2f}"
        for name in sorted(after, key=lambda n: before.get(n, 0.0) - after[n])
        if name in before
    ]
    return ", ".join(parts)


# --- wrk ---------------------------------------------------------------------------------------

_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"connect\\": %d, \\"read\\": %d, "
    .. "\\"write\\": %d, \\"status\\": %d, \\"timeout\\": %d, \\"p50\\": %d, \\"p90\\": %d, "
    .. "\\"p99\\": %d, \\"max\\": %d}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: dict[str, int]
    p50: float
    p90: float
    p99: float
    max: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def good_rate(self) -> float:
        """Requests per second that got a 2xx/3xx answer."""
        ok = self.requests - self.errors.get("status", 0)
        return ok / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        errors = ", ".join(f"{k} {v}" for k, v in self.errors.items() if v) or "none"
        if self.requests == 0:
            return f"no answer within the {self.seconds:.0f} s run (errors: {errors})"
        return (
            f"{self.rate:7.1f} req/s ({self.good_rate:.1f} ok/s), p50 {fmt_ms(self.p50)}, "
            f"p90 {fmt_ms(self.p90)}, p99 {fmt_ms(self.p99)}, max {fmt_ms(self.max)}, "
            f"{self.requests} requests, errors: {errors}"
        )


def _lua_string(value: str) -> str:
    return "[==[" + value + "]==]"


def _wrk_script(method: str, body: str | None, headers: dict[str, str]) -> str:
    """A Lua script for wrk: the request, and a `done` hook printing one JSON line."""
    lines = [f"wrk.method = {_lua_string(method)}"]
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body)}")
    for key, value in headers.items():
        lines.append(f"wrk.headers[ {_lua_string(key)} ] = {_lua_string(value)}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n" + _WRK_DONE)
        return f.name


async def run_wrk(
    url: str,
    *,
    method: str = "GET",
    body: str | None = None,
    headers: dict[str, str] | None = None,
    connections: int,
    seconds: float,
    timeout_s: float,
    threads: int = 2,
) -> WrkResult:
    """Run wrk against `url` and parse what the Lua `done` hook prints."""
    script = _wrk_script(method, body, headers or {})
    try:
        process = await asyncio.create_subprocess_exec(
            "wrk",
            f"-t{min(threads, connections)}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            f"--timeout={max(1, round(timeout_s))}s",
            "-s",
            script,
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await process.communicate()
    finally:
        os.unlink(script)
    text = out.decode(errors="replace")
    for line in text.splitlines():
        if line.startswith("WRK_JSON "):
            data = json.loads(line.removeprefix("WRK_JSON "))
            return WrkResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                errors={k: data[k] for k in ("connect", "read", "write", "status", "timeout")},
                p50=data["p50"] / 1e6,
                p90=data["p90"] / 1e6,
                p99=data["p99"] / 1e6,
                max=data["max"] / 1e6,
            )
    raise RuntimeError(f"wrk printed no summary:\n{text}")


# --- Kafka ---------------------------------------------------------------------------------------


async def group_lag(
    bootstrap: str, groups: Mapping[str, Sequence[str]], *, partitions: int = 6
) -> dict[str, tuple[int, int]]:
    """Per consumer group (name -> its topics): (sum of committed offsets, approximate lag).
    Tansu's end offsets can lag a few records, so the lag is an estimate, never a completion
    test. (Tansu does not answer the admin client's offset listing; a consumer's does.)"""
    result = {}
    for group, topics in groups.items():
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
            ends = await consumer.end_offsets(tps)
            committed = lag = 0
            for tp in tps:
                offset = max(0, await consumer.committed(tp) or 0)
                committed += offset
                lag += max(0, ends[tp] - offset)
            result[group] = (committed, lag)
        finally:
            await consumer.stop()
    return result


async def dead_letters(bootstrap: str, topic: str) -> list[dict[str, str]]:
    """The headers of every record on the dead-letter topic (no consumer group)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    found: list[dict[str, str]] = []
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        empty = 0
        deadline = time.monotonic() + 20
        while empty < 3 and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500, max_records=1000)
            records = [r for recs in batch.values() for r in recs]
            empty = 0 if records else empty + 1
            for r in records:
                found.append({k: v.decode(errors="replace") for k, v in r.headers or ()})
    finally:
        await consumer.stop()
    return found


# --- databases -----------------------------------------------------------------------------------


async def fetchval(dsn: str, query: str, *args: object) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def wait_db_idle(admin_dsn: str, database: str, *, within: float = 15.0) -> int:
    """Wait until no query runs in `database` (a probe abandoned by its client may still run on
    the server); return how many still ran when giving up."""
    deadline = time.monotonic() + within
    conn = await asyncpg.connect(admin_dsn)
    try:
        while True:
            active = await conn.fetchval(
                """SELECT count(*) FROM pg_stat_activity
                    WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()""",
                database,
            )
            if not active or time.monotonic() > deadline:
                return int(active)
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


def utcnow() -> datetime:
    return datetime.now(UTC)


def random_past(rng: random.Random, *, days: int) -> datetime:
    return utcnow() - timedelta(seconds=rng.uniform(0, days * 86400))


def new_id() -> uuid.UUID:
    return uuid.uuid4()
