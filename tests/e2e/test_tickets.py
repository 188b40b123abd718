"""Tickets through the gateway on real infrastructure: the life cycle a customer and a consultant
go through, the waiting list, the correspondence, isolation, and the old portal's import."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts.billing import TicketClassified
from contracts.common import RuleHit
from contracts.envelope import new_envelope
from contracts.topics import BILLING_EVENTS, TICKETS_EVENTS
from devstack.stack import Stack
from services.auth.demo import CONSULTANT, CUSTOMER
from services.runtime.clock import ControlledClock
from tests.e2e.helpers import (
    bearer,
    create_organization,
    create_user,
    decided_ticket,
    imported,
    new_customer,
    set_password,
    sign_in,
    submit_ticket,
    ticket_detail,
)
from tests.support import SignedIn, eventually, fetch, produce, read_topic

ANSWER = {
    "resolution": "Davčni številki sta imeli presledek na koncu; popravili smo ju.",
    "time_spent_minutes": 12,
    "data_correction": True,
}


async def _post(
    gateway: httpx.AsyncClient,
    headers: dict[str, str],
    path: str,
    body: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> Any:
    response = await gateway.post(path, json=body or {}, headers=headers)
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def _events_of(stack: Stack, ticket_id: str, wanted: int) -> list[dict[str, Any]]:
    assert stack.endpoints is not None
    bootstrap = stack.endpoints.kafka_bootstrap

    async def probe() -> list[dict[str, Any]]:
        records = await read_topic(bootstrap, TICKETS_EVENTS)
        mine = [json.loads(r.value) for r in records if r.key == ticket_id.encode()]
        return mine if len(mine) >= wanted else []

    return await eventually(probe, what=f"{wanted} events about ticket {ticket_id}")


async def _outsider(gateway: httpx.AsyncClient, stack: Stack, admin: dict[str, str]) -> Any:
    return (await new_customer(gateway, stack, admin))[1]


@pytest.mark.calendar
@pytest.mark.at("tuesday 10:00")  # help outside hours would be refused (R-OUTSIDE-HOURS) mid-way
async def test_full_life_cycle_with_a_customer_and_a_consultant(
    stack: Stack,
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    consultant: dict[str, str],
) -> None:
    created = await submit_ticket(
        gateway, customer, subject="Obračun plač se ne zaključi", topic="program_usage"
    )
    tid = created["id"]
    assert (created["status"], created["topic"]) == ("waiting", "program_usage")
    assert created["queue_position"] >= 1
    await decided_ticket(gateway, customer, tid)
    queue = (await gateway.get("/api/tickets/queue?limit=100", headers=consultant)).json()
    in_queue = {e["ticket"]["id"]: e["position"] for e in queue["items"]}
    assert in_queue[tid] == (await ticket_detail(gateway, customer, tid))["queue_position"]

    accepted = await _post(gateway, consultant, f"/api/tickets/{tid}/accept")
    assert accepted["status"] == "in_progress"
    assert accepted["consultant"]["display_name"] == CONSULTANT.display_name
    assert accepted["queue_position"] is None
    await _post(
        gateway,
        consultant,
        f"/api/tickets/{tid}/messages",
        {"body": "Je v številki presledek?"},
        status=201,
    )
    await _post(
        gateway,
        consultant,
        f"/api/tickets/{tid}/messages",
        {"body": "Interno: stranka ima star šifrant.", "internal": True},
        status=201,
    )
    await _post(
        gateway,
        customer,
        f"/api/tickets/{tid}/messages",
        {"body": "Da, bom preverila."},
        status=201,
    )

    resolved = await _post(gateway, consultant, f"/api/tickets/{tid}/resolve", ANSWER)
    assert resolved["status"] == "resolved"
    assert resolved["resolution"]["time_spent_minutes"] == 12
    assert resolved["reopen_until"] is not None
    reopened = await _post(
        gateway, customer, f"/api/tickets/{tid}/reopen", {"reason": "Napaka se je ponovila."}
    )
    assert reopened["status"] == "in_progress"
    assert reopened["consultant"]["user_id"] == str(CONSULTANT.id)
    await _post(gateway, consultant, f"/api/tickets/{tid}/resolve", ANSWER)
    closed = await _post(gateway, customer, f"/api/tickets/{tid}/close")
    assert closed["status"] == "closed"

    seen = await ticket_detail(gateway, customer, tid)
    assert [(t["kind"], t["to_status"]) for t in seen["timeline"]] == [
        ("submitted", "waiting"),
        ("accepted", "in_progress"),
        ("resolved", "resolved"),
        ("reopened", "in_progress"),
        ("resolved", "resolved"),
        ("closed", "closed"),
    ]
    assert seen["timeline"][1]["by"] == CONSULTANT.display_name
    assert seen["timeline"][3]["note"] == "Napaka se je ponovila."
    assert seen["accepted_at"] and seen["resolved_at"] and seen["closed_at"]
    assert seen["resolution"]["text"] == ANSWER["resolution"]
    assert [m["body"] for m in seen["messages"]] == [
        "Je v številki presledek?",
        "Da, bom preverila.",
    ]
    staff_view = await ticket_detail(gateway, consultant, tid)
    assert [m["internal"] for m in staff_view["messages"]] == [False, True, False]
    late = await gateway.post(
        f"/api/tickets/{tid}/messages", json={"body": "Še to."}, headers=customer
    )
    assert late.status_code == 409

    events = await _events_of(stack, tid, wanted=10)
    types = [e["event_type"] for e in events]
    for expected in (
        "TicketCreated",
        "TicketAccepted",
        "TicketResolved",
        "TicketReopened",
        "TicketClosed",
    ):
        assert expected in types, types
    assert types.count("TicketMessagePosted") == 3
    versions = [e["aggregate_version"] for e in events]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    resolved_event = next(e for e in events if e["event_type"] == "TicketResolved")["payload"]
    assert resolved_event["data_correction"] is True
    assert resolved_event["requester"]["email"] == CUSTOMER.email


async def test_illegal_steps_are_refused_with_a_clear_error_and_change_nothing(
    gateway: httpx.AsyncClient, customer: dict[str, str], consultant: dict[str, str]
) -> None:
    ticket = await submit_ticket(gateway, customer, subject="Nedovoljeni koraki")
    tid = ticket["id"]
    await decided_ticket(gateway, customer, tid)  # billing's decision changes the version too
    before = await ticket_detail(gateway, customer, tid)

    by_customer = await gateway.post(f"/api/tickets/{tid}/accept", headers=customer)
    resolve_waiting = await gateway.post(
        f"/api/tickets/{tid}/resolve", json=ANSWER, headers=consultant
    )
    close_waiting = await gateway.post(f"/api/tickets/{tid}/close", headers=customer)
    reopen_waiting = await gateway.post(
        f"/api/tickets/{tid}/reopen", json={"reason": "x"}, headers=customer
    )
    negative = await gateway.post(
        f"/api/tickets/{tid}/resolve", json={**ANSWER, "time_spent_minutes": -5}, headers=consultant
    )
    internal_by_customer = await gateway.post(
        f"/api/tickets/{tid}/messages", json={"body": "skrito", "internal": True}, headers=customer
    )

    assert by_customer.status_code == 403
    assert resolve_waiting.status_code == 409
    assert "only while in work" in resolve_waiting.json()["detail"]
    assert close_waiting.status_code == 409
    assert reopen_waiting.status_code == 409
    assert negative.status_code == 422
    assert internal_by_customer.status_code == 403
    after = await ticket_detail(gateway, customer, tid)
    assert (after["version"], after["status"], after["timeline"], after["messages"]) == (
        before["version"],
        "waiting",
        before["timeline"],
        [],
    )
    await _post(gateway, consultant, f"/api/tickets/{tid}/accept")
    twice = await gateway.post(f"/api/tickets/{tid}/accept", headers=consultant)
    assert twice.status_code == 409
    assert "is in work" in twice.json()["detail"]


async def test_another_organizations_ticket_is_404_for_every_read_and_step(
    gateway: httpx.AsyncClient,
    stack: Stack,
    vendor_admin: dict[str, str],
    customer: dict[str, str],
) -> None:
    outsider = await _outsider(gateway, stack, vendor_admin)
    tag = uuid.uuid4().hex[:8]
    ticket = await submit_ticket(gateway, customer, subject=f"Zaupno {tag}")
    tid = ticket["id"]

    attempts = [
        await gateway.get(f"/api/tickets/{tid}", headers=outsider),
        await gateway.post(f"/api/tickets/{tid}/messages", json={"body": "x"}, headers=outsider),
        await gateway.post(f"/api/tickets/{tid}/close", headers=outsider),
        await gateway.post(f"/api/tickets/{tid}/reopen", json={"reason": "x"}, headers=outsider),
        await gateway.post(f"/api/tickets/{tid}/accept", headers=outsider),
    ]
    assert [r.status_code for r in attempts] == [404] * 5
    listed = await gateway.get(f"/api/tickets?q={tag}&with_total=true", headers=outsider)
    assert listed.json()["items"] == [] and listed.json()["total"] == 0
    assert (await gateway.get("/api/tickets/queue", headers=outsider)).status_code == 403
    assert (await ticket_detail(gateway, customer, tid))["messages"] == []


async def test_list_filters_by_status_program_topic_and_text(
    gateway: httpx.AsyncClient, customer: dict[str, str], consultant: dict[str, str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    payroll = await submit_ticket(
        gateway, customer, subject=f"Plače {tag}", program="Plače", topic="legislation"
    )
    invoices = await submit_ticket(
        gateway, customer, subject=f"Računi {tag}", program="Fakturiranje"
    )
    await _post(gateway, consultant, f"/api/tickets/{invoices['id']}/accept")

    async def ids(query: str) -> list[str]:
        response = await gateway.get(f"/api/tickets?q={tag}&{query}", headers=customer)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]]

    assert await ids("") == [invoices["id"], payroll["id"]]  # newest first
    assert await ids("status=in_progress") == [invoices["id"]]
    assert await ids("program=pla%C4%8De") == [payroll["id"]]
    assert await ids("topic=legislation") == [payroll["id"]]
    assert await ids("status=in_progress&program=fakturiranje") == [invoices["id"]]
    assert (await gateway.get("/api/tickets?status=lost", headers=customer)).status_code == 422
    percent = (await gateway.get("/api/tickets?q=%25", headers=customer)).json()
    assert all("%" in t["subject"] + t["body"] for t in percent["items"])


@pytest.mark.calendar
@pytest.mark.at("tuesday 10:00")
async def test_waiting_list_order_positions_and_taking_the_next_ticket(
    gateway: httpx.AsyncClient, customer: dict[str, str], consultant: dict[str, str]
) -> None:
    first = await submit_ticket(gateway, customer, subject="Prvi v vrsti")
    second = await submit_ticket(gateway, customer, subject="Drugi v vrsti")
    for ticket in (first, second):
        await decided_ticket(gateway, customer, ticket["id"])
    p1 = (await ticket_detail(gateway, customer, first["id"]))["queue_position"]
    p2 = (await ticket_detail(gateway, customer, second["id"]))["queue_position"]
    assert 1 <= p1 < p2

    queue = (await gateway.get("/api/tickets/queue?limit=100", headers=consultant)).json()
    keys = [(e["available_from"], e["ticket"]["number"]) for e in queue["items"]]
    assert [e["position"] for e in queue["items"]] == list(range(1, len(keys) + 1))
    assert [datetime.fromisoformat(a) for a, _ in keys] == sorted(
        datetime.fromisoformat(a) for a, _ in keys
    )
    ready = [e["ticket"]["id"] for e in queue["items"] if e["ready"]]
    assert first["id"] in ready and second["id"] in ready  # working time: nothing deferred

    taken = await gateway.post("/api/tickets/queue/next", headers=consultant)
    assert taken.status_code == 200, taken.text
    assert taken.json()["id"] == ready[0]
    assert taken.json()["status"] == "in_progress"
    assert (await gateway.post("/api/tickets/queue/next", headers=customer)).status_code == 403


@pytest.mark.calendar
@pytest.mark.at("tuesday 10:00")
async def test_the_waiting_list_pages_on_from_a_cursor_with_positions_that_continue(
    gateway: httpx.AsyncClient, customer: dict[str, str], consultant: dict[str, str]
) -> None:
    for n in range(3):
        made = await submit_ticket(gateway, customer, subject=f"V vrsti {n}")
        await decided_ticket(gateway, customer, made["id"])

    first = (await gateway.get("/api/tickets/queue?limit=2", headers=consultant)).json()
    second = (
        await gateway.get(
            f"/api/tickets/queue?limit=2&cursor={first['next_cursor']}", headers=consultant
        )
    ).json()
    counted = (await gateway.get("/api/tickets/queue?with_total=true", headers=consultant)).json()
    wrong = await gateway.get(f"/api/tickets?cursor={first['next_cursor']}", headers=consultant)

    assert [e["position"] for e in first["items"] + second["items"]] == [1, 2, 3, 4][
        : len(first["items"]) + len(second["items"])
    ]
    assert len(first["items"]) == 2 and second["items"]
    assert counted["total"] >= 3
    assert wrong.status_code == 422  # a waiting-list cursor is not a ticket-list cursor


async def test_text_search_ignores_case_and_diacritics_and_needs_every_word(
    gateway: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    tag = f"iskanje{uuid.uuid4().hex[:8]}"
    wanted = await submit_ticket(
        gateway, customer, subject=f"ČAS obdelave {tag}", body="Šifrant žiro računov se vleče."
    )
    await submit_ticket(gateway, customer, subject=f"Čas {tag}", body="Drugo.")

    async def found(q: str) -> list[str]:
        response = await gateway.get("/api/tickets", params={"q": f"{tag} {q}"}, headers=customer)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]]

    assert await found("cas sifrant") == [wanted["id"]]
    assert await found("čas ŽIRO") == [wanted["id"]]
    assert await found("Casa") == []


async def test_consultant_records_a_ticket_only_for_a_known_customer(
    gateway: httpx.AsyncClient, consultant: dict[str, str]
) -> None:
    unknown = await gateway.post(
        "/api/tickets",
        json={
            "subject": "Klic",
            "body": "b",
            "channel": "phone",
            "requester_email": "nihce@nikjer.example",
        },
        headers=consultant,
    )
    assert unknown.status_code == 422
    assert "nihce@nikjer.example" in unknown.json()["detail"]


async def test_a_refusal_from_the_policy_takes_the_ticket_off_the_waiting_list(
    stack: Stack, gateway: httpx.AsyncClient, customer: dict[str, str], clock: ControlledClock
) -> None:
    ticket = await submit_ticket(gateway, customer, subject="Zavrnjena pomoč")
    await decided_ticket(gateway, customer, ticket["id"])
    classified = TicketClassified(
        ticket_id=ticket["id"],
        org_id=ticket["org_id"],
        stage="provisional",
        decision="refused",
        reasons=(
            RuleHit(code="R-ARREARS", effect="refused", explanation="Neporavnane obveznosti."),
        ),
        policy_version="test",
        decided_at=clock.now(),
    )
    refusal = new_envelope(
        classified,
        event_type="TicketClassified",
        event_version=1,
        source="billing",
        aggregate_id=ticket["id"],
        aggregate_version=50,  # newer than any decision billing made
        org_id=uuid.UUID(ticket["org_id"]),
        correlation_id=f"test-{uuid.uuid4()}",
        occurred_at=clock.now(),
    )
    assert stack.endpoints is not None
    await produce(
        stack.endpoints.kafka_bootstrap,
        BILLING_EVENTS,
        refusal.model_dump_json().encode(),
        key=ticket["id"].encode(),
        headers=[],
    )

    async def refused() -> Any:
        seen = await ticket_detail(gateway, customer, ticket["id"])
        return seen if seen["status"] == "refused" else None

    seen = await eventually(refused, what="the ticket refused")
    assert seen["queue_position"] is None
    assert seen["timeline"][-1]["kind"] == "refused"
    assert "R-ARREARS" in seen["timeline"][-1]["note"]
    assert [r["code"] for r in seen["decision"]["reasons"]] == ["R-ARREARS"]


@pytest.mark.calendar
async def test_a_resolved_ticket_closes_itself_after_the_reopening_window(
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    consultant: dict[str, str],
    clock: ControlledClock,
    signed_in: SignedIn,
) -> None:
    ticket = await submit_ticket(gateway, customer, subject="Zapre se samo")
    tid = ticket["id"]
    await _post(gateway, consultant, f"/api/tickets/{tid}/accept")
    resolved = await _post(gateway, consultant, f"/api/tickets/{tid}/resolve", ANSWER)
    reopen_until = datetime.fromisoformat(resolved["reopen_until"])

    clock.advance(timedelta(days=13, hours=23))  # still inside the 14-day window
    customer = await signed_in.headers(CUSTOMER.email)
    assert (await ticket_detail(gateway, customer, tid))["status"] == "resolved"
    clock.advance(reopen_until - clock.now() + timedelta(minutes=1))  # just past it
    customer = await signed_in.headers(CUSTOMER.email)

    async def closed() -> Any:
        seen = await ticket_detail(gateway, customer, tid)
        return seen if seen["status"] == "closed" else None

    seen = await eventually(closed, what="the ticket closed after the window")
    assert seen["timeline"][-1]["kind"] == "closed"
    assert seen["timeline"][-1]["by"] is None
    late = await gateway.post(f"/api/tickets/{tid}/reopen", json={"reason": "x"}, headers=customer)
    assert late.status_code == 409


def _legacy_file(tag: str, email: str) -> dict[str, Any]:
    old = datetime(2026, 9, 14, 9, 30, tzinfo=UTC)
    return {
        "format": "old-portal-tickets/1",
        "tickets": [
            {
                "reference": f"STARI-{tag}-1",
                "state": "open",
                "requester_email": email,
                "subject": f"Odprt zahtevek {tag}",
                "body": "Izpis DDV ne deluje.",
                "program": "DDV",
                "topic": "program_usage",
                "submitted_at": old.isoformat(),
                "messages": [
                    {
                        "author_role": "customer",
                        "author_name": "Stara Stranka",
                        "body": "Prosim za pomoč.",
                        "posted_at": (old + timedelta(minutes=5)).isoformat(),
                    },
                    {
                        "author_role": "consultant",
                        "author_name": "Svetovalka Maja",
                        "body": "Pogledamo.",
                        "posted_at": (old + timedelta(hours=2)).isoformat(),
                    },
                ],
            },
            {
                "reference": f"STARI-{tag}-2",
                "state": "open",
                "requester_email": email.upper(),
                "channel": "email",
                "subject": f"Drugi odprt {tag}",
                "body": "Tiskanje položnic.",
                "submitted_at": (old + timedelta(days=1)).isoformat(),
            },
            {
                "reference": f"STARI-{tag}-3",
                "state": "resolved",
                "requester_email": email,
                "subject": f"Rešen v arhivu {tag}",
                "body": "Kako zaprem leto?",
                "submitted_at": (old - timedelta(days=30)).isoformat(),
                "accepted_at": (old - timedelta(days=30, hours=-1)).isoformat(),
                "resolved_at": (old - timedelta(days=29)).isoformat(),
                "resolution": "Po navodilih v poglavju 7.",
                "consultant_name": "Svetovalka Maja",
                "messages": [
                    {
                        "author_role": "consultant",
                        "author_name": "Svetovalka Maja",
                        "body": "Glejte poglavje 7.",
                        "posted_at": (old - timedelta(days=29)).isoformat(),
                    }
                ],
            },
        ],
    }


async def _legacy_state(dsn: str, tag: str) -> list[Any]:
    live = await fetch(
        dsn,
        """SELECT t.legacy_reference, t.status, t.submitted_at, t.org_id, t.requester_id, t.version,
                  (SELECT count(*) FROM ticket_messages m WHERE m.ticket_id = t.id) AS messages,
                  (SELECT count(*) FROM ticket_transitions x WHERE x.ticket_id = t.id) AS steps
             FROM tickets t WHERE legacy_reference LIKE $1 ORDER BY 1""",
        f"STARI-{tag}-%",
    )
    archived = await fetch(
        dsn,
        """SELECT legacy_reference, resolution, messages FROM archived_tickets
            WHERE legacy_reference LIKE $1""",
        f"STARI-{tag}-%",
    )
    return [tuple(r) for r in live] + [tuple(r) for r in archived]


async def test_the_old_portals_tickets_import_once_and_a_second_run_changes_nothing(
    gateway: httpx.AsyncClient,
    stack: Stack,
    vendor_admin: dict[str, str],
    customer: dict[str, str],
    consultant: dict[str, str],
    admin_dsn_for: Any,
) -> None:
    tag = uuid.uuid4().hex[:8]
    org = await create_organization(gateway, vendor_admin)
    person = await create_user(gateway, vendor_admin, org_id=org)
    document = _legacy_file(tag, person["email"])

    refused = await gateway.post(
        "/api/tickets/import",
        json={
            **document,
            "tickets": [
                *document["tickets"],
                {
                    **document["tickets"][0],
                    "reference": f"STARI-{tag}-9",
                    "requester_email": "neznan@stari.example",
                },
            ],
        },
        headers=vendor_admin,
    )
    assert refused.status_code == 422
    assert any("neznan@stari.example" in e["msg"] for e in refused.json()["errors"])
    assert await _legacy_state(admin_dsn_for("tickets"), tag) == []
    assert (
        await gateway.post("/api/tickets/import", json=document, headers=customer)
    ).status_code == 403

    first = await imported(gateway, vendor_admin, document)
    assert first == {
        "live_created": 2,
        "archived": 1,
        "unchanged": 0,
        "attachments": 0,
    }

    async def decided() -> Any:
        # Billing classifies the imported open tickets too; let that settle before comparing.
        rows = await fetch(
            admin_dsn_for("tickets"),
            "SELECT decision_version FROM tickets WHERE legacy_reference LIKE $1",
            f"STARI-{tag}-%",
        )
        return len(rows) == 2 and all(r["decision_version"] > 0 for r in rows)

    await eventually(decided, what="decisions on the imported tickets")
    state = await _legacy_state(admin_dsn_for("tickets"), tag)
    second = await _post(gateway, vendor_admin, "/api/tickets/import", document)
    assert second == {"live_created": 0, "archived": 0, "unchanged": 3, "attachments": 0}
    assert await _legacy_state(admin_dsn_for("tickets"), tag) == state

    await set_password(gateway, stack, person["email"], "geslo iz starega portala")
    them = bearer(await sign_in(gateway, person["email"], "geslo iz starega portala"))
    live = (await gateway.get(f"/api/tickets?q={tag}", headers=them)).json()["items"]
    assert sorted(t["legacy_reference"] for t in live) == [f"STARI-{tag}-1", f"STARI-{tag}-2"]
    oldest = next(t for t in live if t["legacy_reference"].endswith("-1"))
    assert (oldest["status"], oldest["org_id"]) == ("waiting", org)
    assert oldest["submitted_at"].startswith("2026-09-14T09:30:00")
    assert oldest["queue_position"] >= 1
    detail = await ticket_detail(gateway, them, oldest["id"])
    assert [m["author_name"] for m in detail["messages"]] == ["Stara Stranka", "Svetovalka Maja"]
    assert detail["timeline"][0]["kind"] == "imported"

    archive = (await gateway.get(f"/api/tickets/archive?q={tag}", headers=them)).json()
    assert [a["legacy_reference"] for a in archive["items"]] == [f"STARI-{tag}-3"]
    entry_id = archive["items"][0]["id"]
    entry = (await gateway.get(f"/api/tickets/archive/{entry_id}", headers=them)).json()
    assert entry["resolution"] == "Po navodilih v poglavju 7."
    assert entry["messages"][0]["body"] == "Glejte poglavje 7."
    assert (
        await gateway.post(f"/api/tickets/archive/{entry_id}", json={}, headers=them)
    ).status_code == 405
    assert (
        await gateway.get(f"/api/tickets/archive/{entry_id}", headers=customer)
    ).status_code == 404
    assert (
        await gateway.get(f"/api/tickets/archive/{entry_id}", headers=consultant)
    ).status_code == 200


async def test_two_consultants_accepting_at_once_one_gets_the_ticket_the_other_a_409(
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    consultant: dict[str, str],
    vendor_admin: dict[str, str],
) -> None:
    ticket = await submit_ticket(gateway, customer, subject="Dva hkrati")
    path = f"/api/tickets/{ticket['id']}/accept"

    answers = await asyncio.gather(
        gateway.post(path, headers=consultant), gateway.post(path, headers=vendor_admin)
    )

    assert sorted(a.status_code for a in answers) == [200, 409]
    seen = await ticket_detail(gateway, customer, ticket["id"])
    assert [t["kind"] for t in seen["timeline"]].count("accepted") == 1
