"""E-mails through the whole system, captured by a real SMTP server: every step of a ticket the
customer should hear about, in the language they chose (now, not when they submitted), once."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest

from contracts.topics import TICKETS_EVENTS
from devstack.smtp import CapturedEmail
from devstack.stack import Stack
from services.auth.demo import CONSULTANT
from tests.e2e.helpers import (
    bearer,
    create_organization,
    create_user,
    decided_ticket,
    deliver,
    mails_to,
    outbox_envelope,
    set_password,
    sign_in,
    submit_ticket,
)
from tests.support import eventually, fetch

ANSWER = {"resolution": "Nastavitve tiskalnika smo popravili.", "time_spent_minutes": 10}


async def _post(
    gateway: httpx.AsyncClient, headers: dict[str, str], path: str, body: Any = None
) -> None:
    response = await gateway.post(path, json=body or {}, headers=headers)
    assert response.status_code in (200, 201), response.text


async def _ticket_mails(
    stack: Stack, address: str, ticket_id: str, count: int
) -> list[CapturedEmail]:
    async def probe() -> list[CapturedEmail]:
        mine = [m for m in mails_to(stack, address) if m.ticket_id == ticket_id]
        return mine if len(mine) >= count else []

    return await eventually(probe, what=f"{count} e-mails to {address} about {ticket_id}")


@pytest.mark.calendar
@pytest.mark.at("wednesday 10:00")
async def test_the_customer_hears_of_every_step_in_their_language_and_the_consultant_of_a_reopening(
    stack: Stack,
    gateway: httpx.AsyncClient,
    vendor_admin: dict[str, str],
    consultant: dict[str, str],
    admin_dsn_for: Any,
) -> None:
    org = await create_organization(gateway, vendor_admin)
    person = await create_user(gateway, vendor_admin, org_id=org, language="en")
    email = person["email"]
    await set_password(gateway, stack, email, "geslo za obvestila")
    customer = bearer(await sign_in(gateway, email, "geslo za obvestila"))

    ticket = await submit_ticket(gateway, customer, subject="Printer settings")
    tid = ticket["id"]
    await decided_ticket(gateway, customer, tid)
    await _post(gateway, consultant, f"/api/tickets/{tid}/accept")
    await _post(gateway, consultant, f"/api/tickets/{tid}/messages", {"body": "Which printer?"})
    await _post(
        gateway, consultant, f"/api/tickets/{tid}/messages", {"body": "Interno.", "internal": True}
    )
    await _post(gateway, customer, f"/api/tickets/{tid}/messages", {"body": "HP LaserJet."})
    await _post(gateway, consultant, f"/api/tickets/{tid}/resolve", ANSWER)
    # received, accepted, the consultant's message, resolved, and the final decision: the new
    # organization has no onboarding on record, so help is paid (P-NO-SETUP).
    english = await _ticket_mails(stack, email, tid, 5)

    def one(mails: list[CapturedEmail], words: str) -> CapturedEmail:
        [found] = [m for m in mails if words in m.subject]
        return found

    assert one(english, "We received your request")
    assert "Which printer?" in one(english, "New message about request").text()
    assert "Nastavitve tiskalnika smo popravili." in one(english, "is resolved").text()
    assert "P-NO-SETUP" in one(english, "is paid").text()
    assert one(english, "is being worked on")
    assert all("Hello" in m.text() and '<html lang="en">' in m.html() for m in english)

    # The customer switches to Slovenian: what follows comes in Slovenian.
    patch = await gateway.patch(
        f"/api/auth/users/{person['user_id']}", json={"language": "sl"}, headers=vendor_admin
    )
    assert patch.status_code == 200

    async def language_known() -> bool:
        rows = await fetch(
            admin_dsn_for("notify"),
            "SELECT language FROM recipients WHERE user_id = $1",
            uuid.UUID(person["user_id"]),
        )
        return bool(rows) and rows[0]["language"] == "sl"

    await eventually(language_known, what="notify to learn the new language")
    await _post(gateway, customer, f"/api/tickets/{tid}/reopen", {"reason": "Spet ne tiska."})
    [reopened] = await _ticket_mails(stack, CONSULTANT.email, tid, 1)
    await _post(gateway, consultant, f"/api/tickets/{tid}/resolve", ANSWER)
    await _post(gateway, customer, f"/api/tickets/{tid}/close")
    mails = await _ticket_mails(stack, email, tid, 8)
    slovenian = mails[5:]

    assert reopened.subject.startswith("Stranka je ponovno odprla zahtevek št.")
    assert "Spet ne tiska." in reopened.text()
    assert one(slovenian, "je rešen").subject.startswith("Zahtevek št.")
    assert one(slovenian, "je zaključen").subject.startswith("Zahtevek št.")
    assert one(slovenian, "je plačljiva")
    assert "Interno." not in "".join(m.text() for m in mails)
    await asyncio.sleep(1.0)  # an extra e-mail would have arrived by now
    assert len([m for m in mails_to(stack, email) if m.ticket_id == tid]) == 8

    listed = await gateway.get(f"/api/notify/emails?ticket_id={tid}", headers=customer)
    history = listed.json()["items"]
    assert {h["kind"] for h in history} == {
        "TicketDecisionRecorded",
        "TicketAccepted",
        "TicketMessagePosted",
        "TicketResolved",
        "TicketClosed",
    }
    assert {h["status"] for h in history} == {"sent"}


async def test_the_same_event_delivered_three_times_sends_one_email(
    stack: Stack,
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    consultant: dict[str, str],
    admin_dsn_for: Any,
) -> None:
    ticket = await submit_ticket(gateway, customer, subject="Trikrat dostavljeno")
    tid = ticket["id"]
    await _post(gateway, consultant, f"/api/tickets/{tid}/accept")
    [accepted] = [
        m
        for m in await _ticket_mails(stack, ticket["requester"]["email"], tid, 2)
        if "v reševanju" in m.subject
    ]
    envelope = await outbox_envelope(admin_dsn_for("tickets"), "TicketAccepted", tid)
    value = json.dumps(envelope).encode()
    await deliver(
        stack,
        TICKETS_EVENTS,
        value,
        value,
        key=tid,
        read_by="notify",
        headers=[("event_type", b"TicketAccepted")],
    )

    about = [m for m in mails_to(stack, ticket["requester"]["email"]) if m.ticket_id == tid]
    assert [m.subject for m in about].count(accepted.subject) == 1
