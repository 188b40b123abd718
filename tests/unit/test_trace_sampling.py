"""Which traces are kept: every new one while the load is light, at most `TRACES_PER_SECOND` a
second under load, a trace whole or not at all, and none started by a background query."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from services.runtime import tracing


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(tracing.time, "monotonic", clock)
    return clock


def _tracer(monkeypatch: pytest.MonkeyPatch, **env: str) -> trace.Tracer:
    monkeypatch.delenv("OTEL_TRACES_SAMPLER_ARG", raising=False)
    monkeypatch.delenv("TRACES_PER_SECOND", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return TracerProvider(sampler=tracing._default_sampler()).get_tracer("test")


def _kept(tracer: trace.Tracer, count: int, kind: SpanKind = SpanKind.SERVER) -> int:
    kept = 0
    for _ in range(count):
        span = tracer.start_span("POST /api/tickets", kind=kind)
        kept += span.is_recording()
        span.end()
    return kept


def test_every_new_trace_is_kept_while_the_load_is_light(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    tracer = _tracer(monkeypatch)

    for _ in range(30):
        clock.now += 0.2  # five requests a second
        assert _kept(tracer, 1) == 1


def test_under_load_at_most_the_budget_is_kept_a_second(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    tracer = _tracer(monkeypatch, TRACES_PER_SECOND="10")

    assert _kept(tracer, 600) == 10  # a burst: one second's worth
    clock.now += 0.5
    assert _kept(tracer, 300) == 5
    clock.now += 60  # the budget does not pile up beyond one second's worth
    assert _kept(tracer, 600) == 10


def test_the_ratio_applies_within_the_budget(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> None:
    assert _kept(_tracer(monkeypatch, OTEL_TRACES_SAMPLER_ARG="0"), 50) == 0
    tracer = _tracer(monkeypatch, OTEL_TRACES_SAMPLER_ARG="0.5", TRACES_PER_SECOND="1000")
    assert 400 < _kept(tracer, 1_000) < 600


def test_a_kept_trace_stays_whole_when_the_budget_is_spent(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    tracer = _tracer(monkeypatch, TRACES_PER_SECOND="1")
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
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    assert _kept(_tracer(monkeypatch), 5, kind=SpanKind.CLIENT) == 0


def test_bad_settings_fall_back_to_the_defaults(
    monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    tracer = _tracer(monkeypatch, OTEL_TRACES_SAMPLER_ARG="all", TRACES_PER_SECOND="many")
    assert _kept(tracer, 100) == tracing.DEFAULT_TRACES_PER_SECOND
