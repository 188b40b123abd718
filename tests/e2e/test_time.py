"""Business time through the whole system (docs/time.md): tickets judged by when they came in,
policy inputs judged by when they were true whatever order they arrive in, and times written for
the reader, all on the stack's controlled clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from devstack.stack import Stack
from services.auth.demo import CUSTOMER
from services.billing.policy import PolicyParameters
from services.runtime.clock import ControlledClock
from services.runtime.local_time import format_moment
from tests.e2e.helpers import (
    NewCustomer,
    decided_ticket,
    json_of,
    report_standing,
    submit_ticket,
    ticket_when,
)
from tests.support import eventually, fetch

pytestmark = [pytest.mark.stack, pytest.mark.calendar]

CALENDAR = PolicyParameters().calendar()


async def _decisions(
    gateway: httpx.AsyncClient, headers: dict[str, str], ticket_id: str
) -> list[dict[str, Any]]:
    response = await gateway.get(f"/api/billing/tickets/{ticket_id}/decisions", headers=headers)
    return json_of(response)


async def _record_call(
    gateway: httpx.AsyncClient,
    consultant: dict[str, str],
    email: str,
    received_at: datetime,
    **fields: Any,
) -> httpx.Response:
    """A consultant records a phone call; a new customer may take a moment to reach the tickets
    service's directory (from accounts.events), so "no such user" is asked again."""
    body = {
        "subject": "Klic stranke",
        "body": "Stranka je po telefonu vprašala za izpis plačilnih list.",
        "channel": "phone",
        "requester_email": email,
        "received_at": received_at.isoformat(),
        **fields,
    }

    async def probe() -> httpx.Response | None:
        answer = await gateway.post("/api/tickets", json=body, headers=consultant)
        known = answer.status_code != 422 or "No active portal user" not in answer.text
        return answer if known else None

    return await eventually(probe, timeout=15, what=f"{email} known to the tickets service")


async def _decided(
    gateway: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    """Submit a portal ticket and wait until billing's decision is on it."""
    created = await submit_ticket(gateway, headers, **fields)
    return await decided_ticket(gateway, headers, created["id"])


def _codes(decision: dict[str, Any]) -> list[str]:
    return [r["code"] for r in decision["reasons"]]


@pytest.mark.at("saturday 23:00")
async def test_a_saturday_night_ticket_waits_for_the_next_working_morning_said_in_both_languages(
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    consultant: dict[str, str],
    clock: ControlledClock,
) -> None:
    expected = CALENDAR.next_working_start(clock.now())
    created = await submit_ticket(gateway, customer, subject="Sobotno vprašanje", program="Plače")

    ticket = await decided_ticket(gateway, customer, created["id"])

    deferral = ticket["decision"]["reasons"][0]
    assert deferral["code"] == "R-OUTSIDE-HOURS" and deferral["effect"] == "deferred"
    assert datetime.fromisoformat(ticket["decision"]["deferred_until"]) == expected
    assert format_moment(expected, "en") in deferral["explanation"]
    assert format_moment(expected, "sl") in deferral["explanation_sl"]
    assert "T0" not in deferral["explanation"]  # no raw timestamps for people to read
    queue = (await gateway.get("/api/tickets/queue?limit=100", headers=consultant)).json()
    [entry] = [e for e in queue["items"] if e["ticket"]["id"] == created["id"]]
    assert entry["ready"] is False
    assert datetime.fromisoformat(entry["available_from"]) == expected


@pytest.mark.at("12-25 10:00")
async def test_on_christmas_day_a_ticket_waits_for_the_next_working_day(
    gateway: httpx.AsyncClient, customer: dict[str, str], clock: ControlledClock
) -> None:
    created = await submit_ticket(gateway, customer, subject="Božično vprašanje")

    ticket = await decided_ticket(gateway, customer, created["id"])

    until = datetime.fromisoformat(ticket["decision"]["deferred_until"])
    assert _codes(ticket["decision"])[0] == "R-OUTSIDE-HOURS"
    assert until == CALENDAR.next_working_start(clock.now())
    local = until.astimezone(CALENDAR.zone)
    assert (local.month, local.day) != (12, 26)  # Independence and Unity Day is work-free too
    assert local.hour == 8


@pytest.mark.at("tuesday 10:00")
async def test_a_phone_call_keeps_the_time_it_came_in_for_the_waiting_list_and_the_policy(
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    consultant: dict[str, str],
    clock: ControlledClock,
) -> None:
    now = clock.now()
    portal = await submit_ticket(gateway, customer, subject="Oddano zdaj")
    two_hours_ago = now - timedelta(hours=2)  # Tuesday 08:00: working time
    saturday = now - timedelta(days=3)  # Saturday 10:00: outside working hours

    early = await _record_call(gateway, consultant, CUSTOMER.email, two_hours_ago)
    weekend = await _record_call(gateway, consultant, CUSTOMER.email, saturday)

    assert (early.status_code, weekend.status_code) == (201, 201), early.text + weekend.text
    assert datetime.fromisoformat(early.json()["submitted_at"]) == two_hours_ago
    detail = (await gateway.get(f"/api/tickets/{early.json()['id']}", headers=customer)).json()
    assert datetime.fromisoformat(detail["timeline"][0]["at"]) == two_hours_ago
    for ticket in (portal, early.json(), weekend.json()):
        await decided_ticket(gateway, customer, ticket["id"])
    early_seen = (await gateway.get(f"/api/tickets/{early.json()['id']}", headers=customer)).json()
    portal_seen = (await gateway.get(f"/api/tickets/{portal['id']}", headers=customer)).json()
    assert early_seen["queue_position"] < portal_seen["queue_position"]
    assert "R-OUTSIDE-HOURS" not in _codes(early_seen["decision"])
    assert "P-CHANNEL" in _codes(early_seen["decision"])
    [weekend_decision] = await _decisions(gateway, customer, weekend.json()["id"])
    assert _codes(weekend_decision)[0] == "R-OUTSIDE-HOURS"
    assert datetime.fromisoformat(weekend_decision["deferred_until"]) == (
        CALENDAR.next_working_start(saturday)
    )


async def test_a_recorded_time_in_the_future_too_old_or_on_a_portal_ticket_is_refused(
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    consultant: dict[str, str],
    clock: ControlledClock,
    admin_dsn_for: Any,
) -> None:
    before = await fetch(admin_dsn_for("tickets"), "SELECT count(*) AS n FROM tickets")
    now = clock.now()

    future = await _record_call(gateway, consultant, CUSTOMER.email, now + timedelta(hours=1))
    too_old = await _record_call(gateway, consultant, CUSTOMER.email, now - timedelta(days=8))
    portal = await gateway.post(
        "/api/tickets",
        json={"subject": "s", "body": "b", "received_at": now.isoformat()},
        headers=customer,
    )
    naive = await gateway.post(
        "/api/tickets",
        json={
            "subject": "s",
            "body": "b",
            "channel": "email",
            "requester_email": CUSTOMER.email,
            "received_at": "2026-12-01T10:00:00",
        },
        headers=consultant,
    )

    assert (future.status_code, too_old.status_code) == (422, 422)
    assert "future" in future.json()["detail"]
    assert "7 days" in too_old.json()["detail"]
    assert (portal.status_code, naive.status_code) == (422, 422)
    after = await fetch(admin_dsn_for("tickets"), "SELECT count(*) AS n FROM tickets")
    assert after[0]["n"] == before[0]["n"]


@pytest.mark.at("tuesday 10:00")
async def test_a_late_no_arrears_message_about_the_past_does_not_lift_newer_arrears(
    stack: Stack,
    gateway: httpx.AsyncClient,
    vendor_admin: dict[str, str],
    clock: ControlledClock,
    newcomer: NewCustomer,
) -> None:
    person, customer = await newcomer()
    org, now = person["org_id"], clock.now()
    await report_standing(stack, org, arrears=True, as_of=now - timedelta(minutes=10), now=now)
    first = await _decided(gateway, customer, subject="Pred poznim sporočilom")

    # The ERP's "no arrears" as of an hour ago arrives after the "arrears" of ten minutes ago.
    await report_standing(stack, org, arrears=False, as_of=now - timedelta(hours=1), now=now)
    second = await _decided(gateway, customer, subject="Po poznem sporočilu")

    [first_decision] = await _decisions(gateway, customer, first["id"])
    [second_decision] = await _decisions(gateway, customer, second["id"])
    assert (first_decision["decision"], _codes(first_decision)) == ("refused", ["R-ARREARS"])
    assert (second_decision["decision"], _codes(second_decision)) == ("refused", ["R-ARREARS"])
    history = (
        await gateway.get(f"/api/billing/organizations/{org}/inputs", headers=vendor_admin)
    ).json()["standing"]
    assert [h["has_unpaid_obligations"] for h in history] == [True, False]  # by as_of
    assert datetime.fromisoformat(history[1]["recorded_at"]) > datetime.fromisoformat(
        history[0]["recorded_at"]
    )


@pytest.mark.at("tuesday 10:00")
async def test_a_late_arrears_message_about_the_past_refuses_only_what_came_in_while_true(
    stack: Stack,
    gateway: httpx.AsyncClient,
    consultant: dict[str, str],
    clock: ControlledClock,
    newcomer: NewCustomer,
) -> None:
    person, customer = await newcomer()
    org, now = person["org_id"], clock.now()
    await report_standing(stack, org, arrears=False, as_of=now - timedelta(minutes=10), now=now)
    before = await _decided(gateway, customer, subject="Pred poznim dolgom")

    # Arrears from an hour ago until ten minutes ago, reported late.
    await report_standing(stack, org, arrears=True, as_of=now - timedelta(hours=1), now=now)
    after = await submit_ticket(gateway, customer, subject="Po poznem dolgu")
    call = await _record_call(gateway, consultant, person["email"], now - timedelta(minutes=30))
    assert call.status_code == 201, call.text
    for ticket in (after, call.json()):
        await decided_ticket(gateway, customer, ticket["id"])

    [before_decision] = await _decisions(gateway, customer, before["id"])
    [after_decision] = await _decisions(gateway, customer, after["id"])
    [call_decision] = await _decisions(gateway, customer, call.json()["id"])
    assert before_decision["decision"] != "refused"  # a decision made stays made
    assert after_decision["decision"] != "refused"  # today the ERP says: paid up
    assert (call_decision["decision"], _codes(call_decision)) == ("refused", ["R-ARREARS"])

    await ticket_when(
        gateway,
        customer,
        call.json()["id"],
        lambda t: t["status"] == "refused",
        what="the call made while in arrears refused",
    )


@pytest.mark.at("tuesday 10:00")
async def test_onboarding_counts_from_when_it_happened(
    gateway: httpx.AsyncClient,
    vendor_admin: dict[str, str],
    consultant: dict[str, str],
    clock: ControlledClock,
    newcomer: NewCustomer,
) -> None:
    person, customer = await newcomer()
    now = clock.now()
    recorded = await gateway.post(
        f"/api/billing/organizations/{person['org_id']}/onboarding",
        json={
            "user_id": person["user_id"],
            "program": "Plače",
            "completed_on": now.date().isoformat(),
            "organization_setup_done": True,
            "as_of": (now - timedelta(hours=1)).isoformat(),
        },
        headers=vendor_admin,
    )
    assert recorded.status_code == 201, recorded.text
    earlier_call = await _record_call(
        gateway,
        consultant,
        person["email"],
        now - timedelta(hours=2),
        subject="Plače pred uvajanjem",
        body="Kako vnesem ure?",
        program="Plače",
    )
    assert earlier_call.status_code == 201, earlier_call.text
    today = await submit_ticket(
        gateway, customer, subject="Plače po uvajanju", body="Kako vnesem ure?", program="Plače"
    )
    for ticket in (earlier_call.json(), today):
        await decided_ticket(gateway, customer, ticket["id"])

    [before] = await _decisions(gateway, customer, earlier_call.json()["id"])
    [after] = await _decisions(gateway, customer, today["id"])
    assert "P-NO-SETUP" in _codes(before)  # nothing was on record when the customer called
    assert after["decision"] == "free" and "F-NEW-PROGRAM" in _codes(after)


async def test_every_service_says_loudly_that_it_runs_on_a_controlled_clock(stack: Stack) -> None:
    for name in ("auth", "tickets", "billing", "notify"):
        log = (stack.log_dir / f"{name}.log").read_text(errors="replace")
        assert "CONTROLLED CLOCK" in log, name
        assert '"environment": "test"' in log, name
