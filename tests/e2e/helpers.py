"""Steps the end-to-end tests take, as a portal user or an operator would."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx

from contracts.common import EventModel
from contracts.envelope import new_envelope
from contracts.policy_inputs import OrganizationStandingChanged
from devstack.smtp import CapturedEmail
from devstack.stack import Stack
from tests.support import committed_offset, eventually, fetch, produce


def json_of(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of a response that must have answered `status` (else its text is shown)."""
    assert response.status_code == status, response.text
    return response.json()


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
    return json_of(response, 201)


async def decided_ticket(
    gateway: httpx.AsyncClient, headers: dict[str, str], ticket_id: str, *, timeout: float = 30
) -> dict[str, Any]:
    """Wait until the ticket shows billing's decision; return the ticket."""
    return await ticket_when(
        gateway,
        headers,
        ticket_id,
        lambda ticket: bool(ticket["decision"]),
        what=f"a decision on ticket {ticket_id}",
        timeout=timeout,
    )


async def ticket_when(
    gateway: httpx.AsyncClient,
    headers: dict[str, str],
    ticket_id: str,
    condition: Callable[[dict[str, Any]], bool],
    *,
    what: str,
    timeout: float = 30,
) -> dict[str, Any]:
    """Wait until the ticket, as its reader sees it, meets `condition`; return it."""

    async def probe() -> dict[str, Any] | None:
        ticket = await ticket_detail(gateway, headers, ticket_id)
        return ticket if condition(ticket) else None

    return await eventually(probe, timeout=timeout, what=what)


async def imported(
    gateway: httpx.AsyncClient, admin: dict[str, str], document: dict[str, Any]
) -> dict[str, Any]:
    """Import the old portal's tickets once the tickets service accepts the document (it learns
    of new users and of uploads from events); return the counts it answers with."""

    async def accepted() -> dict[str, Any] | None:
        response = await gateway.post("/api/tickets/import", json=document, headers=admin)
        return json_of(response) if response.status_code == 200 else None

    return await eventually(accepted, what="the import accepted")


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


TOKEN_IN_LINK = re.compile(r"[?&]token=([A-Za-z0-9_-]+)")


def mails_to(stack: Stack, address: str) -> list[CapturedEmail]:
    assert stack.smtp is not None
    return [m for m in stack.smtp.captured if m.to == address]


async def next_mail_to(
    stack: Stack, address: str, *, seen: int, timeout: float = 30
) -> CapturedEmail:
    """Wait for e-mail number `seen + 1` to `address`; return it."""

    async def probe() -> list[CapturedEmail]:
        mails = mails_to(stack, address)
        return mails if len(mails) > seen else []

    mails = await eventually(probe, timeout=timeout, what=f"e-mail no. {seen + 1} to {address}")
    return mails[seen]


def link_token(mail: CapturedEmail) -> str:
    match = TOKEN_IN_LINK.search(mail.text())
    assert match, f"no password link in:\n{mail.text()}"
    return match.group(1)


async def request_link(gateway: httpx.AsyncClient, stack: Stack, email: str) -> CapturedEmail:
    """'Forgot password' for `email`; return the new e-mail with the link (other e-mails, such as
    the confirmation of an earlier reset, may arrive in between)."""

    def links() -> list[CapturedEmail]:
        return [m for m in mails_to(stack, email) if TOKEN_IN_LINK.search(m.text())]

    seen = len(links())
    response = await gateway.post("/api/auth/password/forgot", json={"email": email})
    assert response.status_code == 202, response.text

    async def probe() -> list[CapturedEmail]:
        found = links()
        return found if len(found) > seen else []

    return (await eventually(probe, what=f"a password link for {email}"))[seen]


async def reset_password(
    gateway: httpx.AsyncClient, token: str, password: str, repeated: str | None = None
) -> httpx.Response:
    """Set a new password with a link's token, typed twice (`repeated`: the second time, if it
    differs)."""
    return await gateway.post(
        "/api/auth/password/reset",
        json={"token": token, "password": password, "password_repeated": repeated or password},
    )


async def set_password(gateway: httpx.AsyncClient, stack: Stack, email: str, password: str) -> None:
    """The seed's flow: ask for a link, open the e-mail, type the new password twice."""
    token = link_token(await request_link(gateway, stack, email))
    response = await reset_password(gateway, token, password)
    assert response.status_code == 200, response.text


async def create_user(
    gateway: httpx.AsyncClient,
    admin: dict[str, str],
    *,
    org_id: str | None = None,
    roles: list[str] | None = None,
    invite: bool = False,
    language: str = "sl",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": f"oseba-{uuid.uuid4().hex[:10]}@stranka.example",
        "display_name": "Nova Oseba",
        "language": language,
        "roles": roles or ["customer"],
        "invite": invite,
    }
    if org_id:
        body["org_id"] = org_id
    response = await gateway.post("/api/auth/users", json=body, headers=admin)
    return json_of(response, 201)


async def create_organization(gateway: httpx.AsyncClient, admin: dict[str, str]) -> str:
    name = f"Stranka {uuid.uuid4().hex[:8]} d.o.o."
    response = await gateway.post("/api/auth/organizations", json={"name": name}, headers=admin)
    assert response.status_code == 201, response.text
    return str(response.json()["org_id"])


async def sign_in(
    gateway: httpx.AsyncClient, email: str, password: str, **extra: Any
) -> dict[str, Any]:
    response = await gateway.post(
        "/api/auth/login", json={"email": email, "password": password, **extra}
    )
    return json_of(response)


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"authorization": f"Bearer {tokens['access_token']}"}


async def outbox_envelope(dsn: str, event_type: str, ticket_id: str) -> dict[str, Any]:
    """The one envelope of this type about this ticket, as the service stored it."""
    rows = await fetch(
        dsn,
        "SELECT envelope::text AS e FROM outbox WHERE event_type = $1 AND message_key = $2",
        event_type,
        ticket_id,
    )
    assert len(rows) == 1
    envelope: dict[str, Any] = json.loads(rows[0]["e"])
    return envelope


async def wait_committed_past(
    stack: Stack, group: str, topic: str, partition: int, offset: int
) -> None:
    """Wait until the consumer group committed past this record."""
    assert stack.endpoints is not None
    bootstrap = stack.endpoints.kafka_bootstrap

    async def probe() -> bool:
        return await committed_offset(bootstrap, group, topic, partition) > offset

    await eventually(
        probe, timeout=30, what=f"{group} to commit past {topic}[{partition}]@{offset}"
    )


SignedInUser = tuple[dict[str, Any], dict[str, str]]
"""A user as the API shows them, and their authorization headers."""

NewCustomer = Callable[..., Awaitable[SignedInUser]]
"""The `newcomer` fixture (tests/e2e/conftest.py): `person, headers = await newcomer()`."""


async def new_customer(
    gateway: httpx.AsyncClient, stack: Stack, admin: dict[str, str], *, language: str = "sl"
) -> tuple[dict[str, Any], dict[str, str]]:
    """A customer of a new organization, signed in: (the user, authorization headers)."""
    org = await create_organization(gateway, admin)
    person = await create_user(gateway, admin, org_id=org, language=language)
    password = f"geslo {uuid.uuid4().hex[:8]}"
    await set_password(gateway, stack, person["email"], password)
    return person, bearer(await sign_in(gateway, person["email"], password))


async def deliver(
    stack: Stack,
    topic: str,
    *values: bytes,
    key: str,
    read_by: str,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Publish records as another producer would (a foreign system, or a redelivery of what a
    service published), and wait until the consumer group `read_by` committed past the last."""
    assert stack.endpoints is not None and values
    for value in values:
        partition, offset = await produce(
            stack.endpoints.kafka_bootstrap, topic, value, key=key.encode(), headers=headers or []
        )
    await wait_committed_past(stack, read_by, topic, partition, offset)


async def announce(
    stack: Stack, event: EventModel, *, source: str, read_by: str, now: datetime
) -> None:
    """Publish an organization's event as a foreign system (`source`: the ERP, the training
    system) would, and wait until the service `read_by` has taken it."""
    org_id: uuid.UUID = event.org_id  # type: ignore[attr-defined]
    envelope = new_envelope(
        event,
        source=source,
        aggregate_id=org_id,
        aggregate_version=1,
        org_id=org_id,
        correlation_id=new_correlation_id(),
        occurred_at=now,
    )
    value = envelope.model_dump_json().encode()
    await deliver(stack, event.TOPIC, value, key=str(org_id), read_by=read_by)


async def report_standing(
    stack: Stack, org_id: str, *, arrears: bool, as_of: datetime, now: datetime
) -> None:
    """Publish the ERP's `OrganizationStandingChanged` and wait until billing has taken it."""
    standing = OrganizationStandingChanged(
        org_id=uuid.UUID(org_id), has_unpaid_obligations=arrears, as_of=as_of
    )
    await announce(stack, standing, source="erp", read_by="billing", now=now)


async def ticket_detail(
    gateway: httpx.AsyncClient, headers: dict[str, str], ticket_id: str
) -> dict[str, Any]:
    """The ticket as its reader sees it (`GET /api/tickets/{id}`)."""
    response = await gateway.get(f"/api/tickets/{ticket_id}", headers=headers)
    return json_of(response)
