"""OpenTelemetry traces: one trace per ticket across the services (docs/decisions.md,
"Readiness, metrics and traces").

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: then
the service exports its spans by OTLP over HTTP (the standard `OTEL_*` variables tune the
exporter and the batch processor). Which traces are kept: services/runtime/sampling.py (every
new one, but at most `TRACES_PER_SECOND` a second per process, each whole across the services);
`OTEL_TRACES_SAMPLER` replaces that with one of the SDK's samplers.

asyncpg and httpx are traced by their OpenTelemetry instrumentations, HTTP requests by
`ServerSpanMiddleware`. Only kept traces cost spans beyond the sampling decision: a request whose
trace is not kept runs outside any span, so what it stores carries no `traceparent`, and the
relay, the consumers and the SMTP sender open spans only for work that carries one (an event
from another system without one is not traced). The Kafka path is ours, because the relay
publishes later and from another task than the one that stored the event: the W3C
`traceparent` of the span that wrote an outbox row is stored in the row and sent as the record's
header on every attempt; a consumer continues the trace from that header, one span per record,
and what its handlers store (outbox rows, e-mails) carries that span's `traceparent` on.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Receive, Scope, Send

from services.runtime.metrics import ResponseStatus, route_template

if TYPE_CHECKING:
    from services.runtime.sampling import RootSampler

TRACEPARENT = "traceparent"
_propagator = TraceContextTextMapPropagator()


class _State:
    enabled = False
    # The provider's own tracer once configured (the API's proxy tracer until then).
    tracer: trace.Tracer = trace.get_tracer("ticketing")
    # Our sampler of new traces (None under OTEL_TRACES_SAMPLER): asked before a server span.
    new_traces: RootSampler | None = None


_state = _State()
_handled: ContextVar[dict[uuid.UUID, str] | None] = ContextVar("ticketing_handled", default=None)


def enabled() -> bool:
    """Whether this process records spans (configure_tracing installed a provider)."""
    return _state.enabled


def wanted() -> bool:
    """Whether the environment asks for traces to be exported."""
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(service: str, *, exporter: Any = None) -> Any:
    """Install a tracer provider for `service` exporting to `exporter` (OTLP over HTTP when
    None) and instrument asyncpg and httpx; return the provider (`shutdown()` flushes it).
    Called once per process, when `wanted()` or with a test's exporter."""
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    from opentelemetry.sdk.trace.sampling import ParentBased

    from services.runtime.sampling import root_sampler

    root = None if os.environ.get("OTEL_TRACES_SAMPLER") else root_sampler()
    sampler = ParentBased(root=root) if root is not None else None
    provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=sampler)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _asyncpg_in_kept_traces(AsyncPGInstrumentor)().instrument(
        tracer_provider=provider, skip_dep_check=True
    )
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _state.tracer = provider.get_tracer("ticketing")
    _state.new_traces = root
    _state.enabled = True
    return provider


def _asyncpg_in_kept_traces(base: Any) -> Any:
    """The asyncpg instrumentation, skipped for queries outside a kept trace. Unchanged, it
    parsed and described every query before learning the span would not be recorded: ~1 ms of
    CPU per POST /api/tickets at 10 % sampling, half the request's own (docs/decisions.md).
    The wrappers are plain functions handing back the query's own coroutine when it is not
    traced, so such a query costs one check and no coroutine of ours."""

    class AsyncPGInKeptTraces(base):  # type: ignore[misc]
        def _do_execute(self, func: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if not trace.get_current_span().is_recording():
                return func(*args, **kwargs)
            return super()._do_execute(func, instance, args, kwargs)

        def _do_cursor_execute(self, func: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if not trace.get_current_span().is_recording():
                return func(*args, **kwargs)
            return super()._do_cursor_execute(func, instance, args, kwargs)

        def _do_prepared_execute(self, func: Any, instance: Any, args: Any, kwargs: Any) -> Any:
            if not trace.get_current_span().is_recording():
                return func(*args, **kwargs)
            return super()._do_prepared_execute(func, instance, args, kwargs)

    return AsyncPGInKeptTraces


def flush_traces(provider: Any) -> None:
    """Export the spans still buffered and stop (at shutdown; nothing when tracing is off)."""
    if provider is not None:
        provider.shutdown()


class ServerSpanMiddleware:
    """A server span per HTTP request, continuing a caller's `traceparent`, named by the route
    template (`POST /api/tickets`, or what `route_of` says: the gateway's `/api/tickets/*`);
    probes and scrapes have none. In place of opentelemetry-instrumentation-fastapi, which cost
    ~260 us of CPU per request even for the requests it did not sample (docs/decisions.md)."""

    def __init__(self, app: ASGIApp, *, route_of: Callable[[Scope], str] = route_template) -> None:
        self.app = app
        self.route_of = route_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _state.enabled or scope["path"] in _UNTRACED:
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope.get("headers", ()) if k == b"traceparent"), None)
        if _dropped_before_a_span(incoming):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "")
        span = _state.tracer.start_span(
            method,
            context=_parent(incoming.decode("latin-1") if incoming else None),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method},
        )
        if not span.is_recording():
            # Not kept: the request runs outside any trace, so what it stores carries no
            # `traceparent` and nothing downstream spends a span on it (module docstring).
            await self.app(scope, receive, send)
            return
        response = ResponseStatus(send)
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=True):
                await self.app(scope, receive, response.send)
        finally:
            route = self.route_of(scope)
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
            span.set_attribute("http.response.status_code", response.status)
            if response.status >= 500:
                span.set_status(trace.StatusCode.ERROR)
            span.end()


_UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})
_NOT_KEPT = re.compile(rb"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f][02468ace]")


def _dropped_before_a_span(incoming: bytes | None) -> bool:
    """Whether the request's trace is dropped whatever a span would say, so it needs none, not
    even one that records nothing: the caller's `traceparent` says its trace is not kept (a
    child follows its parent), or it starts a new trace and the budget is spent."""
    if incoming is not None:
        return _NOT_KEPT.fullmatch(incoming) is not None
    return _state.new_traces is not None and _state.new_traces.spent()


def forwarded_traceparent(*, caller_sent_one: bool) -> str | None:
    """The `traceparent` a proxy hands on (the gateway): its own span's when the trace is kept;
    when it is not and the caller sent none, a fresh one that says "not kept", so the service
    behind follows the decision instead of keeping, on its own budget, a trace that would start
    halfway; otherwise None (the caller's passes through as it came, as with traces off)."""
    if not _state.enabled:
        return None
    kept = current_traceparent()
    if kept is not None or caller_sent_one:
        return kept
    return f"00-{random.getrandbits(128):032x}-{random.getrandbits(64):016x}-00"


def current_traceparent() -> str | None:
    """The W3C `traceparent` of the current span (None without one)."""
    if not _state.enabled:
        return None
    return _format(trace.get_current_span().get_span_context())


def _format(context: trace.SpanContext) -> str | None:
    """W3C `traceparent` (version 00) of a kept span's context, as the propagator's `inject`
    writes it; None for no span or one not kept."""
    if not context.is_valid or not context.trace_flags.sampled:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def traceparent_for(event_id: uuid.UUID | None) -> str | None:
    """The `traceparent` to store with something caused by handling `event_id` (an outbox row,
    an e-mail): the span of that record when a consumer handles it, else the current span."""
    if not _state.enabled:
        return None
    handled = _handled.get()
    if handled is not None and event_id is not None and event_id in handled:
        return handled[event_id]
    return current_traceparent()


def traceparent_of(headers: Sequence[tuple[str, bytes]] | None) -> str | None:
    """A Kafka record's `traceparent` header."""
    for key, value in headers or ():
        if key == TRACEPARENT and value:
            return value.decode(errors="replace")
    return None


def _parent(traceparent: str | None) -> otel_context.Context | None:
    return _propagator.extract({TRACEPARENT: traceparent}) if traceparent else None


class Handling:
    """The spans of records handled together (`consuming`)."""

    def __init__(self, spans: dict[uuid.UUID, Span]) -> None:
        self._spans = spans

    @contextlib.contextmanager
    def current(self, event_id: uuid.UUID | None) -> Iterator[None]:
        """Make the span of `event_id` the current one (its handler's queries nest under it)."""
        span = self._spans.get(event_id) if event_id is not None else None
        if span is None:
            yield
            return
        with trace.use_span(span, end_on_exit=False):
            yield


_NO_SPANS = Handling({})


@contextlib.contextmanager
def consuming(
    consumer: str, records: Sequence[tuple[uuid.UUID, str, str, str | None]]
) -> Iterator[Handling]:
    """Spans for records handled in one transaction, one each, continuing each record's trace:
    (event id, event type, topic, traceparent). While they run, `traceparent_for` gives what
    each record causes its own span's context."""
    if not _state.enabled:
        yield _NO_SPANS
        return
    spans: dict[uuid.UUID, Span] = {}
    handled: dict[uuid.UUID, str] = {}
    for event_id, event_type, topic, traceparent in records:
        if traceparent is None:
            continue  # not part of a kept trace: no span (module docstring)
        span = _state.tracer.start_span(
            f"{consumer} handle {event_type}",
            context=_parent(traceparent),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": topic,
                "messaging.consumer.group.name": consumer,
                "messaging.message.id": str(event_id),
            },
        )
        spans[event_id] = span
        traceparent_of_span = _format(span.get_span_context())
        if traceparent_of_span is not None:
            handled[event_id] = traceparent_of_span
    token = _handled.set({**(_handled.get() or {}), **handled})
    try:
        yield Handling(spans)
    except BaseException as error:
        for span in spans.values():
            span.record_exception(error)
            span.set_status(trace.StatusCode.ERROR)
        raise
    finally:
        _handled.reset(token)
        for span in spans.values():
            span.end()


@contextlib.contextmanager
def span(
    name: str, traceparent: str | None, *, kind: SpanKind, **attributes: str
) -> Iterator[None]:
    """A span continuing `traceparent`'s trace (the relay's publish, the SMTP send); none for
    work outside a kept trace."""
    if not _state.enabled or traceparent is None:
        yield
        return
    with _state.tracer.start_as_current_span(
        name, context=_parent(traceparent), kind=kind, attributes=attributes
    ):
        yield


def add_trace_ids(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: the current trace and span ids on every line logged inside one."""
    if _state.enabled:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            event_dict.setdefault("trace_id", format(context.trace_id, "032x"))
            event_dict.setdefault("span_id", format(context.span_id, "016x"))
    return event_dict
