"""Which traces are kept: every new one while the load is light, at most `TRACES_PER_SECOND` a
second under load, a trace whole or not at all, and none started by a background query; work
outside a kept trace passes no `traceparent` on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind

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
