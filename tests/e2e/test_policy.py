"""The support policy over the broker on real infrastructure: provisional and final decisions,
inputs from the ERP and the training system, overrides, statements, and re-delivery."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from contracts.topics import BILLING_EVENTS, TICKETS_EVENTS
from devstack.stack import Stack
from services.billing.policy import RULES
from services.runtime.clock import ControlledClock
from tests.e2e.helpers import (
    NewCustomer,
    SignedInUser,
    decided_ticket,
    deliver,
    outbox_envelope,
    report_standing,
    submit_ticket,
    ticket_when,
)
from tests.support import eventually, read_topic

LJUBLJANA = ZoneInfo("Europe/Ljubljana")  # statements are per local calendar month


@pytest.fixture
async def onboarded(
    gateway: httpx.AsyncClient, vendor_admin: dict[str, str], newcomer: NewCustomer
) -> SignedInUser:
    """A customer of a new organization onboarded for Plače, signed in: (the user, headers).
    The tests that use it run in working hours."""
    person, headers = await newcomer()
    onboarding = await gateway.post(
        f"/api/billing/organizations/{person['org_id']}/onboarding",
        json={
            "user_id": person["user_id"],
            "program": "Plače",
            "completed_on": "2025-01-15",
            "organization_setup_done": True,
        },
        headers=vendor_admin,
    )
    assert onboarding.status_code == 201, onboarding.text
    return person, headers


async def _decisions(
    gateway: httpx.AsyncClient, headers: dict[str, str], ticket_id: str, count: int
) -> list[dict[str, Any]]:
    async def probe() -> list[dict[str, Any]]:
        response = await gateway.get(f"/api/billing/tickets/{ticket_id}/decisions", headers=headers)
        found: list[dict[str, Any]] = response.json() if response.status_code == 200 else []
        return found if len(found) >= count else []

    return await eventually(probe, what=f"{count} decisions about {ticket_id}")


async def _resolve(
    gateway: httpx.AsyncClient, consultant: dict[str, str], ticket_id: str, **work: Any
) -> None:
    accepted = await gateway.post(f"/api/tickets/{ticket_id}/accept", headers=consultant)
    assert accepted.status_code == 200, accepted.text
    resolved = await gateway.post(
        f"/api/tickets/{ticket_id}/resolve",
        json={"resolution": "Pomagali smo na daljavo.", **work},
        headers=consultant,
    )
    assert resolved.status_code == 200, resolved.text


@pytest.mark.calendar
@pytest.mark.at("tuesday 10:00")
async def test_provisional_then_final_decision_with_reasons_in_both_languages(
    gateway: httpx.AsyncClient, consultant: dict[str, str], onboarded: SignedInUser
) -> None:
    _, customer = onboarded
    ticket = await submit_ticket(
        gateway, customer, subject="Uvoz ur v plače", program="Plače", topic="program_usage"
    )
    tid = ticket["id"]
    [provisional] = await _decisions(gateway, customer, tid, 1)

    assert (provisional["stage"], provisional["decision"], provisional["version"]) == (
        "provisional",
        "free",
        1,
    )
    assert provisional["reasons"][-1]["code"] == "F-SHORT-USAGE"
    assert provisional["policy_version"] == "2026.11.1"

    await _resolve(gateway, consultant, tid, time_spent_minutes=25, remote_session=True)
    final = (await _decisions(gateway, customer, tid, 2))[1]

    assert (final["stage"], final["decision"], final["version"]) == ("final", "paid", 2)
    assert [r["code"] for r in final["reasons"]] == ["P-COMPLEX", "P-REMOTE"]
    assert "25 minut" in final["reasons"][0]["explanation_sl"]
    assert "25 minutes" in final["reasons"][0]["explanation"]

    seen = await ticket_when(
        gateway,
        customer,
        tid,
        lambda t: (t["decision"] or {}).get("stage") == "final",
        what="the final decision on the ticket",
    )
    assert seen["decision"]["decision"] == "paid"


@pytest.mark.calendar
@pytest.mark.at("tuesday 10:00")
async def test_redelivered_ticket_events_make_no_second_decision_or_statement_line(
    stack: Stack,
    gateway: httpx.AsyncClient,
    consultant: dict[str, str],
    admin_dsn_for: Any,
    clock: ControlledClock,
    onboarded: SignedInUser,
) -> None:
    person, customer = onboarded
    ticket = await submit_ticket(gateway, customer, subject="Dvakrat dostavljeno", program="Plače")
    tid = ticket["id"]
    await decided_ticket(gateway, customer, tid)
    await _resolve(gateway, consultant, tid, time_spent_minutes=40)
    await _decisions(gateway, customer, tid, 2)
    for event_type in ("TicketCreated", "TicketResolved"):
        envelope = await outbox_envelope(admin_dsn_for("tickets"), event_type, tid)
        value = json.dumps(envelope).encode()
        headers = [("event_type", event_type.encode())]
        await deliver(stack, TICKETS_EVENTS, value, key=tid, read_by="billing", headers=headers)

    decisions = (
        await gateway.get(f"/api/billing/tickets/{tid}/decisions", headers=customer)
    ).json()
    assert [d["version"] for d in decisions] == [1, 2]
    month = f"{clock.now().astimezone(LJUBLJANA):%Y-%m}"
    statement = (
        await gateway.get(f"/api/billing/statements/{person['org_id']}/{month}", headers=customer)
    ).json()
    assert [line["ticket_id"] for line in statement["lines"]] == [tid]
    assert statement["lines"][0]["minutes"] == 40
    assert statement["total_minutes"] == 40


@pytest.mark.calendar
@pytest.mark.at("tuesday 10:00")
async def test_statement_as_json_and_csv_and_issued_to_the_erp_once(
    stack: Stack,
    gateway: httpx.AsyncClient,
    vendor_admin: dict[str, str],
    consultant: dict[str, str],
    customer: dict[str, str],
    clock: ControlledClock,
    onboarded: SignedInUser,
) -> None:
    person, them = onboarded
    paid = await submit_ticket(
        gateway,
        them,
        subject="Zakonodaja: regres",
        body="Kdaj moramo po zakonu izplačati regres za letni dopust?",
        topic="legislation",
    )
    free = await submit_ticket(
        gateway,
        them,
        subject="Kratko vprašanje",
        body="Kje v meniju najdem rekapitulacijo obračuna?",
        program="Plače",
    )
    for ticket, minutes in ((paid, 10), (free, 5)):
        await decided_ticket(gateway, them, ticket["id"])
        await _resolve(gateway, consultant, ticket["id"], time_spent_minutes=minutes)
        await _decisions(gateway, them, ticket["id"], 2)
    org, month = person["org_id"], f"{clock.now().astimezone(LJUBLJANA):%Y-%m}"
    path = f"/api/billing/statements/{org}/{month}"

    statement = (await gateway.get(path, headers=them)).json()
    as_csv = await gateway.get(f"{path}?format=csv", headers=them)
    first = await gateway.post(f"{path}/issue", headers=vendor_admin)
    second = await gateway.post(f"{path}/issue", headers=vendor_admin)

    assert [(line["number"], line["minutes"]) for line in statement["lines"]] == [
        (paid["number"], 10)
    ]
    assert [r["code"] for r in statement["lines"][0]["reasons"]] == ["P-LEGISLATION"]
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["ticket_number"], r["minutes"], r["rule_codes"]) for r in rows] == [
        (str(paid["number"]), "10", "P-LEGISLATION")
    ]
    assert rows[0]["time_zone"] == "Europe/Ljubljana"
    resolved_at = datetime.fromisoformat(rows[0]["resolved_at"])
    assert resolved_at.utcoffset() == resolved_at.astimezone(LJUBLJANA).utcoffset()
    assert (first.json()["issued"], second.json()["issued"]) == (True, False)
    assert (await gateway.get(path, headers=customer)).status_code == 404  # another organization
    assert (await gateway.post(f"{path}/issue", headers=them)).status_code == 403
    assert (
        await gateway.get(f"/api/billing/statements/{org}/2026-13", headers=them)
    ).status_code == 422

    assert stack.endpoints is not None
    bootstrap = stack.endpoints.kafka_bootstrap

    async def issued() -> list[dict[str, Any]]:
        records = await read_topic(bootstrap, BILLING_EVENTS)
        return [
            json.loads(r.value)
            for r in records
            if r.key == org.encode() and json.loads(r.value)["event_type"] == "StatementIssued"
        ]

    [event] = await eventually(issued, what="StatementIssued on billing.events")
    assert event["payload"]["total_minutes"] == 10
    assert event["payload"]["month"] == f"{month}-01"


async def test_arrears_reported_by_the_erp_refuse_help_and_the_ticket_leaves_the_waiting_list(
    stack: Stack,
    gateway: httpx.AsyncClient,
    vendor_admin: dict[str, str],
    clock: ControlledClock,
    newcomer: NewCustomer,
) -> None:
    person, customer = await newcomer()
    await report_standing(stack, person["org_id"], arrears=True, as_of=clock.now(), now=clock.now())

    ticket = await submit_ticket(gateway, customer, subject="Pomoč pri zaključku")
    [decision] = await _decisions(gateway, customer, ticket["id"], 1)
    assert (decision["decision"], [r["code"] for r in decision["reasons"]]) == (
        "refused",
        ["R-ARREARS"],
    )

    await ticket_when(
        gateway,
        customer,
        ticket["id"],
        lambda t: t["status"] == "refused",
        what="the ticket refused",
    )
    history = (
        await gateway.get(
            f"/api/billing/organizations/{person['org_id']}/inputs", headers=vendor_admin
        )
    ).json()
    assert history["standing"][0]["has_unpaid_obligations"] is True
    assert history["standing"][0]["source"] == "erp"


async def test_a_consultant_overrides_a_decision_with_a_justification(
    gateway: httpx.AsyncClient, consultant: dict[str, str], newcomer: NewCustomer
) -> None:
    _, customer = await newcomer()
    ticket = await submit_ticket(gateway, customer, subject="Brez uvajanja")
    tid = ticket["id"]
    [provisional] = await _decisions(gateway, customer, tid, 1)
    assert provisional["decision"] == "paid"  # no onboarding on record: P-NO-SETUP

    too_short = await gateway.post(
        f"/api/billing/tickets/{tid}/override",
        json={"decision": "free", "justification": "ok"},
        headers=consultant,
    )
    by_customer = await gateway.post(
        f"/api/billing/tickets/{tid}/override",
        json={"decision": "free", "justification": "Sama si odobrim brezplačno pomoč."},
        headers=customer,
    )
    done = await gateway.post(
        f"/api/billing/tickets/{tid}/override",
        json={"decision": "free", "justification": "Uvajanje je bilo opravljeno, zapis manjka."},
        headers=consultant,
    )

    assert (too_short.status_code, by_customer.status_code, done.status_code) == (422, 403, 201)
    decisions = await _decisions(gateway, customer, tid, 2)
    assert decisions[1]["decision"] == "free"
    assert decisions[1]["justification"] == "Uvajanje je bilo opravljeno, zapis manjka."
    assert decisions[1]["overridden_by"] is not None

    await ticket_when(
        gateway,
        customer,
        tid,
        lambda t: (t["decision"] or {}).get("decision") == "free",
        what="the override on the ticket",
    )


async def test_policy_inputs_are_for_vendor_staff_and_checked(
    gateway: httpx.AsyncClient, customer: dict[str, str], vendor_admin: dict[str, str]
) -> None:
    org = str(uuid.uuid4())
    by_customer = await gateway.post(
        f"/api/billing/organizations/{org}/standing",
        json={"has_unpaid_obligations": True},
        headers=customer,
    )
    backwards = await gateway.post(
        f"/api/billing/organizations/{org}/arrangements",
        json={
            "valid_from": "2026-12-02T08:00:00+01:00",
            "valid_until": "2026-12-01T08:00:00+01:00",
            "agreed_by": "x",
        },
        headers=vendor_admin,
    )
    rules = (await gateway.get("/api/billing/rules", headers=customer)).json()

    assert by_customer.status_code == 403
    assert backwards.status_code == 422
    described = {rule["code"]: rule for rule in rules["rules"]}
    assert set(described) == {*RULES, "P-NO-FREE-RULE"}
    for rule in described.values():  # whole sentences in both languages, never cut off
        assert rule["description"].endswith(".") and rule["description_sl"].endswith(".")
    assert "16:00" in described["R-OUTSIDE-HOURS"]["description"]
    assert "prek portala" in described["P-CHANNEL"]["description_sl"]
    assert "90 dneh" in described["F-NEW-PROGRAM"]["description_sl"]
    assert described["P-REMOTE"]["stages"] == ["final"]
    assert rules["parameters"]["short_help_minutes"] == 15
