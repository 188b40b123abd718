"""Which traces are kept (services/runtime/tracing.py; docs/decisions.md, "Readiness, metrics and
traces").

A trace is kept or dropped whole, where it starts: children follow their parent's decision, so a
ticket's trace is complete in every service or absent. A new trace is kept with the ratio
`OTEL_TRACES_SAMPLER_ARG` (all by default) while the process's budget of `TRACES_PER_SECOND` (10)
new traces a second allows: a kept trace costs ~1 ms of CPU per span-heavy request in each
service it crosses, so the budget bounds that cost whatever the load and still keeps every trace
while the load is light. A root span a client call would start (a query or an HTTP call of a
background loop, outside any work) is never kept.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import (
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

DEFAULT_TRACES_PER_SECOND = 10.0


def default_sampler(*, monotonic: Callable[[], float] = time.monotonic) -> Sampler:
    """The services' sampler, configured from the environment (see the module docstring)."""
    return ParentBased(root=root_sampler(monotonic=monotonic))


def root_sampler(*, monotonic: Callable[[], float] = time.monotonic) -> RootSampler:
    """The sampler of new traces, configured from the environment."""
    ratio = _number("OTEL_TRACES_SAMPLER_ARG", 1.0, upper=1.0)
    per_second = _number("TRACES_PER_SECOND", DEFAULT_TRACES_PER_SECOND)
    return RootSampler(ratio, per_second, monotonic=monotonic)


def _number(name: str, default: float, *, upper: float = float("inf")) -> float:
    raw = os.environ.get(name, "")
    try:
        return min(upper, max(0.0, float(raw))) if raw else default
    except ValueError:
        return default


class RootSampler(Sampler):
    """For new traces: the ratio, within a token bucket of `per_second` traces a second (a
    burst of up to one second's worth); no root client spans."""

    def __init__(
        self, ratio: float, per_second: float, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._ratio = TraceIdRatioBased(ratio)
        self._per_second = per_second
        self._monotonic = monotonic
        self._tokens = self._capacity = max(1.0, per_second)
        self._refilled = monotonic()

    def spent(self) -> bool:
        """Whether the budget keeps no new trace now, whatever the ratio: the server span's
        middleware then runs the request without asking for a span at all."""
        self._refill()
        return self._tokens < 1.0

    def _spend(self) -> bool:
        if self.spent():
            return False
        self._tokens -= 1.0
        return True

    def _refill(self) -> None:
        # Called on the event loop's thread; a race with another thread could at worst keep one
        # trace too many, so no lock.
        now = self._monotonic()
        elapsed, self._refilled = now - self._refilled, now
        self._tokens = min(self._capacity, self._tokens + elapsed * self._per_second)

    def should_sample(  # noqa: PLR0917 - the SDK's signature
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        if kind == SpanKind.CLIENT:
            return SamplingResult(Decision.DROP)
        result = self._ratio.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )
        if result.decision == Decision.RECORD_AND_SAMPLE and not self._spend():
            return SamplingResult(Decision.DROP)
        return result

    def get_description(self) -> str:
        return (
            f"RootSampler{{{self._ratio.rate}, at most {self._per_second}/s, no root client spans}}"
        )


__all__ = ["DEFAULT_TRACES_PER_SECOND", "RootSampler", "default_sampler", "root_sampler"]
