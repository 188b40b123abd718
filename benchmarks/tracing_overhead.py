"""Benchmark: what OpenTelemetry traces cost on POST /api/tickets, side by side in one run.

    .venv/bin/python -m benchmarks.tracing_overhead [--rounds 5] [--seconds 10]

Runs minutes apart differ by 15-25 % on this machine (docs/decisions.md): comparing a run with
traces against one without cannot resolve 10 %. Here both run at once, so they share whatever
the machine does: the stack (as `ticketing dev` starts it, traces off) gets a second tickets
service and a second gateway in front of it, both with traces on (exported by OTLP/HTTP to a sink
in this process that reads each request and answers 200; every new trace kept, within each
process's budget of 10 a second, as shipped). Each round runs two wrk (2 threads, 16
connections each, after a 2 s warm-up) at the same time, one per side: through the gateways,
then directly on the tickets services. billing and notify are stopped, and the tickets waiting
list is emptied after each round (every POST computes positions over it). It prints each round
and the median of the rounds' traced/untraced ratios: throughput, p99, and the CPU the tickets
service (and the gateway) spent per answered POST. It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx

from benchmarks.pipeline import (
    Bench,
    Sizes,
    _TraceSink,
    _working_morning,
    outbox_published,
    retire,
    say,
    wait_until,
)
from benchmarks.pipeline_support import (
    WrkResult,
    cpu_seconds,
    fmt_ms,
    run_wrk,
    ticket_text,
    utcnow,
)
from devstack.infra import free_port
from devstack.processes import ChildProcess
from devstack.stack import Stack, StackConfig
from services.auth.demo import CUSTOMER
from services.runtime.logging import configure_logging

SIDES = ("untraced", "traced")


@dataclass(frozen=True)
class Run:
    target: str
    side: str
    result: WrkResult
    cpu_ms: dict[str, float]  # process -> ms of CPU per answered POST

    def line(self) -> str:
        cpu = ", ".join(f"{name} {ms:.2f} ms" for name, ms in self.cpu_ms.items())
        return (
            f"  {self.target:<16} {self.side:<9} {self.result.good_rate:7.1f} req/s, "
            f"p99 {fmt_ms(self.result.p99):>6}; CPU per POST: {cpu}"
        )


@dataclass
class Side:
    """One tickets service and the gateway in front of it."""

    tickets: ChildProcess
    gateway: ChildProcess
    tickets_url: str
    gateway_url: str


def _copy(process: ChildProcess, name: str, port: int, env: dict[str, str]) -> ChildProcess:
    """The same app on another port, with more environment."""
    argv = list(process.argv)
    argv[argv.index("--port") + 1] = str(port)
    log_path = process.log_path.with_name(f"{name}.log")
    return ChildProcess(name, argv, log_path=log_path, env={**(process.env or {}), **env})


async def _traced_side(bench: Bench, sink_env: dict[str, str]) -> Side:
    """Start a traced tickets service and a traced gateway routing to it."""
    stack = bench.stack
    tickets_port, gateway_port = free_port(), free_port()
    tickets_url = f"http://127.0.0.1:{tickets_port}"
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    tickets = _copy(stack.processes["tickets"], "tickets-traced", tickets_port, sink_env)
    gateway = _copy(
        stack.processes["gateway"],
        "gateway-traced",
        gateway_port,
        {**sink_env, "GATEWAY_TICKETS_URL": tickets_url},
    )
    tickets.start()
    gateway.start()
    for process, url in ((tickets, f"{tickets_url}/readyz"), (gateway, f"{gateway_url}/healthz")):
        if await wait_until(partial(_answers, url), within=90, interval=0.2) is None:
            raise TimeoutError(f"{process.name} did not start:\n{process.log_tail()}")
    return Side(tickets, gateway, tickets_url, gateway_url)


async def _answers(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False


async def _post(url: str, headers: dict[str, str], seconds: float) -> WrkResult:
    subject, body, program, topic = ticket_text(random.Random(7))  # noqa: S311
    payload = json.dumps(
        {"subject": subject, "body": body, "program": program, "topic": topic},
        ensure_ascii=False,
    )
    return await run_wrk(
        f"{url}/api/tickets",
        method="POST",
        body=payload,
        headers={"Content-Type": "application/json", **headers},
        connections=16,
        seconds=seconds,
        timeout_s=10,
    )


async def _round(bench: Bench, sides: dict[str, Side], target: str, seconds: float) -> list[Run]:
    """Both sides at once on one target ("gateway" or "tickets service")."""
    headers = await bench.login(CUSTOMER.email)
    since = utcnow()

    def url(side: Side) -> str:
        return side.gateway_url if target == "gateway" else side.tickets_url

    await asyncio.gather(*(_post(url(side), headers, 2) for side in sides.values()))  # warm-up
    pids = {
        f"{name} {kind}": process.pid
        for name, side in sides.items()
        for kind, process in (("tickets", side.tickets), ("gateway", side.gateway))
    }
    before = cpu_seconds(pids)
    results = await asyncio.gather(*(_post(url(side), headers, seconds) for side in sides.values()))
    after = cpu_seconds(pids)
    runs = []
    for name, result in zip(sides, results, strict=True):
        answered = max(1, result.requests - result.errors.get("status", 0))
        kinds = ("tickets", "gateway") if target == "gateway" else ("tickets",)
        cpu_ms = {
            kind: (after[f"{name} {kind}"] - before[f"{name} {kind}"]) * 1000 / answered
            for kind in kinds
        }
        runs.append(Run(target, name, result, cpu_ms))
    await outbox_published(bench, "tickets", within=120)
    await retire(bench, since)
    return runs


def _report(runs: list[Run]) -> None:
    say("\nsummary (medians over the rounds; traced/untraced = median of each round's ratio)")
    for target in dict.fromkeys(r.target for r in runs):
        plain = [r for r in runs if r.target == target and r.side == "untraced"]
        traced = [r for r in runs if r.target == target and r.side == "traced"]
        pairs = list(zip(plain, traced, strict=True))

        def ratio(value: Callable[[Run], float], pairs: list[tuple[Run, Run]] = pairs) -> float:
            return statistics.median(value(b) / value(a) for a, b in pairs)

        def median(value: Callable[[Run], float], runs: list[Run]) -> float:
            return statistics.median(value(r) for r in runs)

        def rate(r: Run) -> float:
            return r.result.good_rate

        def cpu(r: Run) -> float:
            return sum(r.cpu_ms.values())

        say(
            f"  {target:<16} throughput {median(rate, plain):.1f} untraced, "
            f"{median(rate, traced):.1f} traced req/s (traced/untraced {ratio(rate):.3f}); "
            f"p99 traced/untraced {ratio(lambda r: r.result.p99):.3f}; CPU per POST "
            f"{median(cpu, plain):.2f} untraced, {median(cpu, traced):.2f} traced ms "
            f"(traced/untraced {ratio(cpu):.3f})"
        )


async def run(args: argparse.Namespace) -> None:
    configure_logging("bench", fmt="console", level="WARNING")
    state = Path(tempfile.mkdtemp(prefix="ticketing-tracing-"))
    sink = _TraceSink()
    stack = Stack(StackConfig(state_dir=state, gateway_port=free_port()))
    bench = Bench(stack, Sizes.of(short=True), random.Random(42))  # noqa: S311
    started = time.perf_counter()
    say(f"tracing overhead: {args.rounds} rounds of {args.seconds:.0f} s, both sides at once")
    traced: Side | None = None
    try:
        await stack.start()
        say(f"business time: {_working_morning(stack)}")
        await bench.stop("billing", "notify")
        env = {} if args.control else sink.env(None, args.traces_per_second)
        traced = await _traced_side(bench, env)
        plain = Side(
            stack.processes["tickets"],
            stack.processes["gateway"],
            stack.urls["tickets"],
            stack.gateway_url,
        )
        sides = {"untraced": plain, "traced": traced}
        runs: list[Run] = []
        for number in range(args.rounds):
            say(f"round {number + 1}")
            for target in ("gateway", "tickets service"):
                for run in await _round(bench, sides, target, args.seconds):
                    runs.append(run)
                    say(run.line())
        _report(runs)
    finally:
        if traced is not None:
            for process in (traced.gateway, traced.tickets):
                await asyncio.to_thread(process.stop)
        await stack.stop()
        say(f"trace sink: {sink.requests} export requests, {sink.bytes:,} bytes")
        sink.endpoint.stop()
        shutil.rmtree(state, ignore_errors=True)
    say(f"total {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--seconds", type=float, default=10, help="each wrk run (default 10)")
    parser.add_argument(
        "--control",
        action="store_true",
        help="the second side without traces too: what the two sides differ by on their own",
    )
    parser.add_argument(
        "--traces-per-second",
        type=float,
        default=None,
        help="the traced side's budget of new traces per process (default: as shipped, 10)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
