"""Steps the end-to-end tests take, as a portal user or an operator would."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from devstack.smtp import CapturedEmail
from devstack.stack import Stack
from tests.support import eventually


async def submit_ticket(
    gateway: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    correlation_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    body = {"subject": "Izpis plačilne liste", "body": "Kako natisnem plačilno listo?", **fields}
    extra = {"x-request-id": correlation_id} if correlation_id else {}
    response = await gateway.post("/api/tickets", json=body, headers={**headers, **extra})
    assert response.status_code == 201, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


async def decided_ticket(
    gateway: httpx.AsyncClient, headers: dict[str, str], ticket_id: str, *, timeout: float = 30
) -> dict[str, Any]:
    """Wait until the ticket shows billing's decision; return the ticket."""

    async def probe() -> dict[str, Any] | None:
        response = await gateway.get(f"/api/tickets/{ticket_id}", headers=headers)
        assert response.status_code == 200, response.text
        ticket: dict[str, Any] = response.json()
        return ticket if ticket["decision"] else None

    return await eventually(probe, timeout=timeout, what=f"a decision on ticket {ticket_id}")


def mails_about(stack: Stack, ticket_id: str) -> list[CapturedEmail]:
    assert stack.smtp is not None
    return [m for m in stack.smtp.captured if m.ticket_id == ticket_id]


async def one_mail_about(stack: Stack, ticket_id: str, *, timeout: float = 30) -> CapturedEmail:
    async def probe() -> list[CapturedEmail]:
        return mails_about(stack, ticket_id)

    mails = await eventually(probe, timeout=timeout, what=f"an e-mail about ticket {ticket_id}")
    return mails[0]


def new_correlation_id() -> str:
    return f"test-{uuid.uuid4()}"
