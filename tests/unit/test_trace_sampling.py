"""Which traces are kept: every new one while the load is light, at most `TRACES_PER_SECOND` a
second under load, a trace whole or not at all, and none started by a background query; work
outside a kept trace passes no `traceparent` on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import SpanKind
from starlette.types import Message, Receive, Scope, Send

from services.runtime import sampling, tracing


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_tracer(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> Callable[..., trace.Tracer]:
    def make(**env: str) -> trace.Tracer:
        monkeypatch.delenv("OTEL_TRACES_SAMPLER_ARG", raising=False)
        monkeypatch.delenv("TRACES_PER_SECOND", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        sampler = sampling.default_sampler(monotonic=clock)
        return TracerProvider(sampler=sampler).get_tracer("test")

    return make


def _kept(tracer: trace.Tracer, count: int, kind: SpanKind = SpanKind.SERVER) -> int:
    kept = 0
    for _ in range(count):
        span = tracer.start_span("POST /api/tickets", kind=kind)
        kept += span.is_recording()
        span.end()
    return kept


def test_every_new_trace_is_kept_while_the_load_is_light(
    make_tracer: Callable[..., trace.Tracer], clock: Clock
) -> None:
    tracer = make_tracer()

    for _ in range(30):
        clock.now += 0.2  # five requests a second
        assert _kept(tracer, 1) == 1


def test_under_load_at_most_the_budget_is_kept_a_second(
    make_tracer: Callable[..., trace.Tracer], clock: Clock
) -> None:
    tracer = make_tracer(TRACES_PER_SECOND="10")

    assert _kept(tracer, 600) == 10  # a burst: one second's worth
    clock.now += 0.5
    assert _kept(tracer, 300) == 5
    clock.now += 60  # the budget does not pile up beyond one second's worth
    assert _kept(tracer, 600) == 10


def test_the_ratio_applies_within_the_budget(make_tracer: Callable[..., trace.Tracer]) -> None:
    assert _kept(make_tracer(OTEL_TRACES_SAMPLER_ARG="0"), 50) == 0
    tracer = make_tracer(OTEL_TRACES_SAMPLER_ARG="0.5", TRACES_PER_SECOND="1000")
    assert 400 < _kept(tracer, 1_000) < 600


def test_a_kept_trace_stays_whole_when_the_budget_is_spent(
    make_tracer: Callable[..., trace.Tracer], clock: Clock
) -> None:
    tracer = make_tracer(TRACES_PER_SECOND="1")
    request = tracer.start_span("POST /api/tickets", kind=SpanKind.SERVER)
    assert request.is_recording()
    assert _kept(tracer, 5) == 0  # the budget is spent

    with trace.use_span(request, end_on_exit=True):
        query = tracer.start_span("INSERT", kind=SpanKind.CLIENT)
        handling = tracer.start_span("billing handle TicketCreated", kind=SpanKind.CONSUMER)
    assert query.is_recording() and handling.is_recording()

    dropped = tracer.start_span("GET /api/tickets", kind=SpanKind.SERVER)
    with trace.use_span(dropped, end_on_exit=True):
        clock.now += 10  # budget again, but a child follows its parent
        assert not tracer.start_span("SELECT", kind=SpanKind.CLIENT).is_recording()


def test_a_query_outside_any_trace_starts_none(
    make_tracer: Callable[..., trace.Tracer], clock: Clock
) -> None:
    assert _kept(make_tracer(), 5, kind=SpanKind.CLIENT) == 0


def test_bad_settings_fall_back_to_the_defaults(
    make_tracer: Callable[..., trace.Tracer], clock: Clock
) -> None:
    tracer = make_tracer(OTEL_TRACES_SAMPLER_ARG="all", TRACES_PER_SECOND="many")
    assert _kept(tracer, 100) == sampling.DEFAULT_TRACES_PER_SECOND


def test_work_outside_a_kept_trace_stores_no_traceparent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing._state, "enabled", True)
    dropped = TracerProvider(sampler=ALWAYS_OFF).get_tracer("test")
    with dropped.start_as_current_span("GET /api/tickets"):
        assert tracing.current_traceparent() is None

    kept = TracerProvider().get_tracer("test")
    with kept.start_as_current_span("POST /api/tickets") as span:
        context = span.get_span_context()
        assert context.trace_flags.sampled
        assert tracing.current_traceparent() == (
            f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
        )


def test_asking_whether_the_budget_is_spent_spends_nothing(clock: Clock) -> None:
    root = sampling.RootSampler(1.0, 2.0, monotonic=clock)
    tracer = TracerProvider(sampler=ParentBased(root=root)).get_tracer("test")

    assert not root.spent() and not root.spent()
    assert _kept(tracer, 5) == 2
    assert root.spent()
    clock.now += 0.5  # one token back
    assert not root.spent() and not root.spent()
    assert _kept(tracer, 5) == 1


class Traced:
    """ServerSpanMiddleware around an app that notes the span it ran in, and the spans asked
    for, with tracing on and the given sampler of new traces."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, root: sampling.RootSampler) -> None:
        tracer = TracerProvider(sampler=ParentBased(root=root)).get_tracer("test")
        self.started: list[str] = []
        self.seen: list[trace.Span] = []
        started = self.started

        class CountingTracer:
            def start_span(self, name: str, **kwargs: Any) -> trace.Span:
                started.append(name)
                return tracer.start_span(name, **kwargs)

        monkeypatch.setattr(tracing._state, "enabled", True)
        monkeypatch.setattr(tracing._state, "tracer", CountingTracer())
        monkeypatch.setattr(tracing._state, "new_traces", root)

    def request(self, *headers: tuple[bytes, bytes]) -> trace.Span:
        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            self.seen.append(trace.get_current_span())
            await send({"type": "http.response.start", "status": 201, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(_: Message) -> None:
            return None

        scope = {"type": "http", "method": "POST", "path": "/api/tickets", "headers": [*headers]}
        middleware = tracing.ServerSpanMiddleware(app, route_of=lambda _: "/api/tickets")
        asyncio.run(middleware(scope, receive, send))
        return self.seen[-1]


CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331"


def test_a_request_the_budget_would_drop_runs_outside_any_span(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    traced = Traced(monkeypatch, sampling.RootSampler(1.0, 1.0, monotonic=clock))

    kept = traced.request()  # the budget's one token
    dropped = traced.request()

    assert kept.get_span_context().trace_flags.sampled  # (ended by now)
    assert dropped is trace.INVALID_SPAN
    assert traced.started == ["POST"]  # the dropped request cost no span, not a non-recording one


def test_a_caller_that_dropped_its_trace_costs_the_service_no_span(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    root = sampling.RootSampler(1.0, 100.0, monotonic=clock)
    traced = Traced(monkeypatch, root)

    assert traced.request((b"traceparent", f"{CALLER}-00".encode())) is trace.INVALID_SPAN
    assert traced.started == []
    kept = traced.request((b"traceparent", f"{CALLER}-01".encode()))
    assert f"{kept.get_span_context().trace_id:032x}" == CALLER[3:35]  # the caller's trace
    assert traced.started == ["POST"]
    assert not root.spent() and root._tokens == 100.0  # children spend no budget


def test_the_gateway_tells_the_service_behind_it_what_it_decided(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tracing.forwarded_traceparent(caller_sent_one=False) is None  # traces off
    monkeypatch.setattr(tracing._state, "enabled", True)

    fresh = tracing.forwarded_traceparent(caller_sent_one=False)
    assert fresh is not None and tracing._NOT_KEPT.fullmatch(fresh.encode())
    assert tracing.forwarded_traceparent(caller_sent_one=True) is None  # theirs passes through
    with TracerProvider().get_tracer("test").start_as_current_span("POST") as span:
        forwarded = tracing.forwarded_traceparent(caller_sent_one=True)
        assert forwarded == tracing.current_traceparent()
        assert forwarded is not None and int(forwarded[-2:], 16) & 1  # sampled
        assert span.is_recording()
