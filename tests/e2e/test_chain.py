"""The event chain end to end, over HTTP through the gateway, on real Postgres and broker:
POST ticket -> TicketCreated -> billing decides -> TicketClassified -> tickets records it ->
TicketDecisionRecorded -> notify e-mails the requester once."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from devstack.stack import Stack
from services.auth.demo import CUSTOMER, DEMO_ORG
from tests.e2e.helpers import (
    decided_ticket,
    mails_about,
    new_correlation_id,
    one_mail_about,
    submit_ticket,
)
from tests.support import fetch

pytestmark = pytest.mark.stack


async def test_portal_ticket_is_classified_recorded_and_emailed_once(
    stack: Stack, gateway: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    # A body of its own: an earlier test's resolved ticket with the default text would make
    # this one a repeated question (P-REPEAT, paid) when the suite runs in another order.
    created = await submit_ticket(
        gateway,
        customer,
        subject="Napaka pri obračunu plač",
        body=f"Ob zaključku novembra se prikaže napaka {uuid.uuid4().hex[:6]} in nič drugega.",
    )
    assert created["status"] == "waiting"
    assert created["channel"] == "portal"
    assert created["requester"]["email"] == CUSTOMER.email

    ticket = await decided_ticket(gateway, customer, created["id"])

    assert ticket["decision"]["stage"] == "provisional"
    assert ticket["decision"]["decision"] == "free"
    assert "P-CHANNEL" not in [r["code"] for r in ticket["decision"]["reasons"]]
    mail = await one_mail_about(stack, created["id"])
    assert mail.to == CUSTOMER.email
    assert f"št. {created['number']}" in mail.subject
    assert "Napaka pri obračunu plač" in mail.text()
    await asyncio.sleep(1.0)  # a second e-mail would have arrived by now
    assert len(mails_about(stack, created["id"])) == 1


async def test_phone_ticket_recorded_by_consultant_is_paid_by_channel(
    stack: Stack, gateway: httpx.AsyncClient, consultant: dict[str, str], customer: dict[str, str]
) -> None:
    created = await submit_ticket(
        gateway, consultant, channel="phone", requester_email=CUSTOMER.email.upper()
    )
    assert created["requester"]["user_id"] == str(CUSTOMER.id)
    assert created["org_id"] == str(DEMO_ORG.id)

    ticket = await decided_ticket(gateway, customer, created["id"])

    assert ticket["decision"]["decision"] == "paid"
    assert "P-CHANNEL" in [r["code"] for r in ticket["decision"]["reasons"]]
    decisions = await gateway.get(
        f"/api/billing/tickets/{created['id']}/decisions", headers=customer
    )
    assert decisions.status_code == 200
    assert decisions.json()[0]["decision"] == "paid"
    mail = await one_mail_about(stack, created["id"])
    assert "plačljiva" in mail.text()
    assert "P-CHANNEL" in mail.text()


async def test_customer_cannot_record_a_phone_ticket_and_nothing_is_stored(
    gateway: httpx.AsyncClient, customer: dict[str, str], admin_dsn_for
) -> None:
    before = await fetch(admin_dsn_for("tickets"), "SELECT count(*) AS n FROM tickets")
    refused = await gateway.post(
        "/api/tickets",
        json={"subject": "s", "body": "b", "channel": "phone", "requester_email": CUSTOMER.email},
        headers=customer,
    )
    invalid = await gateway.post(
        "/api/tickets", json={"subject": "", "body": "b"}, headers=customer
    )
    unknown_field = await gateway.post(
        "/api/tickets",
        json={"subject": "s", "body": "b", "org_id": str(DEMO_ORG.id)},
        headers=customer,
    )
    not_json = await gateway.post(
        "/api/tickets",
        content=b"{not json",
        headers={**customer, "content-type": "application/json"},
    )

    assert refused.status_code == 403
    assert "consultants" in refused.json()["detail"]
    assert invalid.status_code == 422
    assert unknown_field.status_code == 422
    assert not_json.status_code == 422
    after = await fetch(admin_dsn_for("tickets"), "SELECT count(*) AS n FROM tickets")
    assert after[0]["n"] == before[0]["n"]


async def test_requests_without_a_valid_token_are_refused(gateway: httpx.AsyncClient) -> None:
    missing = await gateway.get("/api/tickets")
    forged = await gateway.get("/api/tickets", headers={"authorization": "Bearer abc.def.ghi"})

    assert missing.status_code == 401
    assert forged.status_code == 401


async def test_listing_is_paginated_newest_first_by_cursor(
    gateway: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    tag = f"stran{uuid.uuid4().hex[:8]}"
    made = [await submit_ticket(gateway, customer, subject=f"{tag} {n}") for n in range(3)]

    async def page(query: str) -> dict[str, Any]:
        response = await gateway.get(f"/api/tickets?q={tag}&limit=2{query}", headers=customer)
        assert response.status_code == 200, response.text
        return response.json()

    first = await page("")
    second = await page(f"&cursor={first['next_cursor']}")
    counted = await page("&with_total=true")

    assert [t["id"] for t in first["items"]] == [made[2]["id"], made[1]["id"]]
    assert [t["id"] for t in second["items"]] == [made[0]["id"]]
    assert second["next_cursor"] is None
    assert first["total"] is None and counted["total"] == 3
    # A ticket submitted meanwhile does not shift the pages already being read.
    await submit_ticket(gateway, customer, subject=f"{tag} 3")
    again = await page(f"&cursor={first['next_cursor']}")
    assert [t["id"] for t in again["items"]] == [made[0]["id"]]


@pytest.mark.parametrize(
    "query",
    [
        "limit=1000",
        "cursor=bm90IGEgY3Vyc29y",  # base64 of "not a cursor"
        "cursor=WzEsMl0",  # [1,2]: the right length, the wrong kinds
        "cursor=%2B%2B",
        "with_total=perhaps",
        "offset=20",  # the parameter before cursors: refused, not ignored
    ],
)
async def test_a_page_request_the_list_did_not_give_out_is_refused(
    gateway: httpx.AsyncClient, customer: dict[str, str], query: str
) -> None:
    response = await gateway.get(f"/api/tickets?{query}", headers=customer)

    assert response.status_code == 422, response.text


async def test_correlation_id_travels_from_http_through_every_service_log(
    stack: Stack, gateway: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    correlation_id = new_correlation_id()
    response = await gateway.post(
        "/api/tickets",
        json={"subject": "Sled", "body": "Korelacija"},
        headers={**customer, "x-request-id": correlation_id},
    )
    assert response.headers["x-correlation-id"] == correlation_id
    ticket_id = response.json()["id"]
    await one_mail_about(stack, ticket_id)

    for service in ("tickets", "billing", "notify"):
        lines = [
            json.loads(line)
            for line in (stack.log_dir / f"{service}.log").read_text().splitlines()
            if correlation_id in line and line.startswith("{")
        ]
        assert lines, f"no {service} log line carries the correlation id"
        assert all(line["service"] == service for line in lines)
        handled = [line for line in lines if line["event"] == "event handled"]
        if service != "tickets":
            assert handled and handled[0]["ticket_id"] == ticket_id and handled[0]["event_id"]


async def test_every_service_reports_health_and_readiness(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        for name, url in stack.urls.items():
            assert (await client.get(f"{url}/healthz")).status_code == 200, name
            ready = await client.get(f"{url}/readyz")
            assert ready.status_code == 200, (name, ready.text)


async def test_a_subject_spanning_several_lines_is_refused(
    gateway: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    response = await gateway.post(
        "/api/tickets",
        json={"subject": "Prva\nBcc: vsi@example.com", "body": "b"},
        headers=customer,
    )

    assert response.status_code == 422
