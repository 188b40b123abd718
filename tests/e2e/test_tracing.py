"""One ticket, one trace: the HTTP request that creates it (at the gateway, then the tickets
service), the outbox rows and Kafka records (W3C `traceparent` headers), billing's handling,
tickets' recording and notify's SMTP send.

The services run as processes, so the spans are collected by a small OTLP/HTTP receiver in the
test (it keeps them in memory): the gateway and three services are restarted with
`OTEL_EXPORTER_OTLP_ENDPOINT` pointing at it, and restarted again without it at the end."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from devstack.otlp import OtlpEndpoint
from devstack.stack import Stack
from tests.e2e.helpers import decided_ticket, one_mail_about, submit_ticket
from tests.support import eventually

pytestmark = pytest.mark.stack

TRACED = ("gateway", "tickets", "billing", "notify")


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str


class Receiver:
    """An OTLP/HTTP trace receiver (protobuf on `/v1/traces`) that keeps what it gets."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        self.endpoint = OtlpEndpoint(self._take)
        self.url = self.endpoint.url

    def _take(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self._lock:
            for resource in request.resource_spans:
                attributes = {a.key: a.value.string_value for a in resource.resource.attributes}
                for scope in resource.scope_spans:
                    self.spans.extend(
                        ReceivedSpan(
                            attributes.get("service.name", ""),
                            s.name,
                            s.trace_id.hex(),
                            s.span_id.hex(),
                            s.parent_span_id.hex(),
                        )
                        for s in scope.spans
                    )

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        return [s for s in list(self.spans) if s.trace_id == trace_id]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.endpoint.start()
    yield receiver
    receiver.endpoint.stop()


async def test_one_tickets_spans_from_three_services_join_in_one_trace(
    stack: Stack, gateway: httpx.AsyncClient, customer: dict[str, str], receiver: Receiver
) -> None:
    tracing = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        # Every ended span wakes the exporter. Its timed wait alone never ends under libfaketime
        # (`tasks.py test --at`), which does not shift the deadline of a thread's timed wait
        # (sem_clockwait) as it shifts the clock: the spans were never sent.
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "1",
    }
    try:
        for name in TRACED:
            await stack.restart(name, extra_env=tracing)
        ticket = await submit_ticket(gateway, customer, subject="Sled zahtevka")
        await decided_ticket(gateway, customer, ticket["id"], timeout=90)
        await one_mail_about(stack, ticket["id"], timeout=60)

        def created_trace() -> str | None:
            posts = [s for s in receiver.spans if s.name == "POST /api/tickets"]
            return posts[-1].trace_id if posts else None

        trace_id = await _eventually_sync(created_trace, "the request's span")

        def whole() -> list[ReceivedSpan] | None:
            spans = receiver.trace(trace_id)
            return spans if "smtp send" in {s.name for s in spans} else None

        spans = await _eventually_sync(whole, "the SMTP send's span in the trace")
        logged = [
            json.loads(line)
            for name in TRACED
            for line in (stack.log_dir / f"{name}.log").read_text().splitlines()
            if name != "gateway"
            if trace_id in line
        ]
    finally:
        for name in TRACED:
            await stack.restart(name)

    names = {(s.service, s.name) for s in spans}
    assert {s.service for s in spans} == set(TRACED)
    for expected in [
        ("gateway", "POST /api/tickets/*"),
        ("tickets", "POST /api/tickets"),
        ("tickets", "publish tickets.events"),
        ("billing", "billing handle TicketCreated"),
        ("billing", "publish billing.events"),
        ("tickets", "tickets handle TicketClassified"),
        ("notify", "smtp send"),
    ]:
        assert expected in names, (expected, sorted(names))
    assert any(s.service == "notify" and s.name.startswith("notify handle Ticket") for s in spans)
    assert any(name.startswith(("INSERT", "SELECT", "UPDATE")) for _, name in names)  # asyncpg
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if s.parent_id not in ids]
    assert [(r.service, r.name) for r in roots] == [("gateway", "POST /api/tickets/*")]
    (post,) = [s for s in spans if s.name == "POST /api/tickets"]
    assert [(s.service, s.name) for s in spans if s.span_id == post.parent_id] == [
        ("gateway", "POST /api/tickets/*")
    ]

    assert {line["service"] for line in logged if line.get("trace_id") == trace_id} >= {"tickets"}


async def _eventually_sync(probe, what: str):  # type: ignore[no-untyped-def]
    async def wrapped():  # type: ignore[no-untyped-def]
        return probe()

    return await eventually(wrapped, timeout=30, what=what)
