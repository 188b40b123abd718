"""Every service exports the metrics docs/metrics.md lists, by route template and event type,
never with user data in a label."""

from __future__ import annotations

import uuid

import httpx
import pytest

from devstack.stack import Stack
from devstack.status import Samples, parse_metrics, read_status, total
from tests.e2e.helpers import decided_ticket, one_mail_about, submit_ticket
from tests.support import eventually

pytestmark = pytest.mark.stack


async def _samples(url: str) -> Samples:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse_metrics(response.text)


async def test_one_ticket_shows_in_every_services_metrics_without_its_data(
    stack: Stack, gateway: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    subject = f"Meritve {uuid.uuid4()}"
    ticket = await submit_ticket(gateway, customer, subject=subject)
    await decided_ticket(gateway, customer, ticket["id"], timeout=60)
    await one_mail_about(stack, ticket["id"], timeout=60)
    await gateway.get(f"/api/tickets/{ticket['id']}", headers=customer)
    refused = await gateway.post(
        "/api/auth/login", json={"email": f"nihce-{uuid.uuid4()}@example.com", "password": "x"}
    )
    assert refused.status_code == 401

    async def notify_counted() -> Samples | None:
        samples = await _samples(stack.urls["notify"])
        return samples if total(samples, "ticketing_emails_sent_total") >= 1 else None

    notify = await eventually(notify_counted, timeout=20, what="notify to count the e-mail")
    tickets = await _samples(stack.urls["tickets"])
    billing = await _samples(stack.urls["billing"])
    auth = await _samples(stack.urls["auth"])
    front = await _samples(stack.urls["gateway"])

    created = {"route": "/api/tickets", "method": "POST", "status": "201"}
    assert total(tickets, "ticketing_http_requests_total", **created) >= 1
    assert total(tickets, "ticketing_http_request_duration_seconds_count", route="/api/tickets") > 0
    read = {"route": "/api/tickets/{ticket_id}", "method": "GET"}
    assert total(tickets, "ticketing_http_requests_total", **read) >= 1
    assert total(tickets, "ticketing_outbox_published_events_total") >= 1
    assert total(tickets, "ticketing_db_pool_connections_max") >= 1
    assert total(tickets, "ticketing_broker_up") == 1
    handled = {"consumer": "billing", "event_type": "TicketCreated", "outcome": "handled"}
    assert total(billing, "ticketing_consumer_events_total", **handled) >= 1
    assert total(billing, "ticketing_consumer_handler_duration_seconds_count", consumer="billing")
    assert total(notify, "ticketing_emails_pending") >= 0
    assert "ticketing_emails_oldest_pending_age_seconds" in notify
    assert total(auth, "ticketing_signin_failures_total", reason="unknown_email") >= 1
    forwarded = {"route": "/api/tickets/*", "method": "POST", "status": "201"}
    assert total(front, "ticketing_http_requests_total", **forwarded) >= 1

    for name, samples in {
        "tickets": tickets,
        "billing": billing,
        "notify": notify,
        "auth": auth,
        "gateway": front,
    }.items():
        values = {v for series in samples.values() for labels, _ in series for v in labels.values()}
        assert not any(ticket["id"] in v or "Meritve" in v for v in values), name
        assert not any("@" in v for v in values), name


async def test_consumer_lag_is_reported_per_partition_and_settles_at_zero(stack: Stack) -> None:
    async def caught_up() -> Samples | None:
        samples = await _samples(stack.urls["billing"])
        series = samples.get("ticketing_consumer_lag_records", [])
        return samples if series and all(value == 0 for _, value in series) else None

    samples = await eventually(caught_up, timeout=30, what="billing's lag to settle at 0")
    partitions = {
        (labels["topic"], labels["partition"])
        for labels, _ in samples["ticketing_consumer_lag_records"]
    }
    assert len(partitions) >= 2  # one series per assigned partition


async def test_status_reads_every_service_from_its_metrics(stack: Stack) -> None:
    urls = {name: url for name, url in stack.urls.items() if name != "gateway"}
    statuses = await read_status(urls)
    assert [s.name for s in statuses] == list(urls)
    assert all(s.reachable and s.broker_up for s in statuses)
    notify = next(s for s in statuses if s.name == "notify")
    assert notify.emails_pending is not None
    assert "lag" in notify.line() and "e-mails pending" in notify.line()
