"""Bad input through the gateway gets a clear 4xx and changes nothing, never a 500."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx

from services.auth.demo import CUSTOMER
from tests.e2e.helpers import decided_ticket, submit_ticket
from tests.support import raw_get


async def _total(gateway: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await gateway.get("/api/tickets", params={"with_total": "true"}, headers=headers)
    assert response.status_code == 200
    return int(response.json()["total"])


async def test_a_nul_character_in_any_text_is_a_clear_422_and_changes_nothing(
    gateway: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    before = await _total(gateway, customer)

    answers = [
        await gateway.post("/api/auth/password/forgot", json={"email": "a\u0000b@demo.example"}),
        await gateway.post(
            "/api/auth/login", json={"email": "a\u0000b@demo.example", "password": "geslo"}
        ),
        await gateway.post(
            "/api/tickets",
            json={"subject": "Tiskanje\u0000", "body": "Ne tiska."},
            headers=customer,
        ),
        await gateway.post(
            "/api/tickets",
            json={"subject": "Tiskanje", "body": "Ne\u0000 tiska."},
            headers=customer,
        ),
        await gateway.get("/api/tickets", params={"q": "a\u0000b"}, headers=customer),
        await gateway.get("/api/tickets/archive", params={"q": "\u0000"}, headers=customer),
    ]

    for answer in answers:
        assert answer.status_code == 422, (str(answer.request.url), answer.text)
        problem = answer.json()
        assert answer.headers["content-type"] == "application/problem+json"
        assert "errors" in problem or "U+0000" in problem["detail"], problem
        assert "\u0000" not in answer.text  # nothing sent comes back
    assert await _total(gateway, customer) == before


JSON = {"content-type": "application/json"}


async def test_a_lone_surrogate_or_a_nan_gets_a_422_that_echoes_nothing(
    gateway: httpx.AsyncClient, customer: dict[str, str], consultant: dict[str, str]
) -> None:
    sign_in = await gateway.post(
        "/api/auth/login",
        content='{"email": "a\\ud800b@demo.example", "password": "skrivnost-123"}',
        headers=JSON,
    )
    surrogate_subject = await gateway.post(
        "/api/tickets",
        content='{"subject": "Tiskanje \\ud800", "body": "Ne tiska."}',
        headers={**customer, **JSON},
    )
    ticket = await submit_ticket(gateway, customer, subject="Število minut ni število")
    await decided_ticket(gateway, customer, ticket["id"])
    accepted = await gateway.post(f"/api/tickets/{ticket['id']}/accept", headers=consultant)
    nan_minutes = await gateway.post(
        f"/api/tickets/{ticket['id']}/resolve",
        content='{"resolution": "Urejeno.", "time_spent_minutes": NaN}',
        headers={**consultant, **JSON},
    )

    for answer in (sign_in, surrogate_subject, nan_minutes):
        assert answer.status_code == 422, (str(answer.request.url), answer.text)
    assert "skrivnost" not in sign_in.text
    assert all(set(e) == {"loc", "msg", "type"} for e in sign_in.json()["errors"])
    assert accepted.status_code == 200
    after = await gateway.get(f"/api/tickets/{ticket['id']}", headers=consultant)
    assert after.json()["status"] == "in_progress"


async def test_moments_and_months_out_of_range_get_a_422_and_change_nothing(
    gateway: httpx.AsyncClient, customer: dict[str, str], vendor_admin: dict[str, str]
) -> None:
    org = str(uuid.uuid4())
    me = (await gateway.get("/api/auth/me", headers=customer)).json()
    far_month = await gateway.get(
        f"/api/billing/statements/{me['org_id']}/9999-12", headers=customer
    )
    first_month = await gateway.get(
        f"/api/billing/statements/{me['org_id']}/0001-01", headers=customer
    )
    far_standing = await gateway.post(
        f"/api/billing/organizations/{org}/standing",
        json={"has_unpaid_obligations": True, "as_of": "9999-12-31T23:59:59-12:00"},
        headers=vendor_admin,
    )
    early_import = await gateway.post(
        "/api/tickets/import",
        json={
            "format": "old-portal-tickets/1",
            "tickets": [
                {
                    "reference": f"STARI-{uuid.uuid4().hex[:8]}",
                    "state": "open",
                    "requester_email": me["email"],
                    "subject": "Star zahtevek",
                    "body": "Izpis DDV ne deluje.",
                    "submitted_at": "0001-01-01T00:00:00+14:00",
                }
            ],
        },
        headers=vendor_admin,
    )

    for answer in (far_month, first_month, far_standing, early_import):
        assert answer.status_code == 422, (str(answer.request.url), answer.text)
    history = await gateway.get(f"/api/billing/organizations/{org}/inputs", headers=vendor_admin)
    assert history.json()["standing"] == []


async def test_a_control_character_in_a_path_reaches_the_service_and_gets_its_4xx(
    gateway: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    anonymous = await gateway.get("/api/tickets/%01")
    signed_in = await gateway.get("/api/tickets/%01", headers=customer)

    assert anonymous.status_code == 401, anonymous.text
    assert signed_in.status_code == 422, signed_in.text


async def test_a_path_that_would_leave_its_service_is_refused_by_the_gateway(
    gateway: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    # Each of these, resolved by some layer, would be /api/auth/me or a service's /docs.
    attempts = [
        b"/api/tickets/..%2F..%2Fdocs",
        b"/api/tickets/..%2Fauth%2Fme",
        b"/api/tickets/%2e%2e/auth/me",
        b"/api/tickets/%252e%252e/auth/me",
        b"/api/tickets/..%5Cauth%5Cme",
        b"/api/notify/../auth/me",
    ]
    for raw_path in attempts:
        answer = await raw_get(str(gateway.base_url), raw_path, headers=customer)
        assert answer.status_code == 400, (raw_path, answer.text)
        assert "must stay inside /api/<service>" in answer.json()["detail"]
    me = await raw_get(str(gateway.base_url), b"/api/auth/./me", headers=customer)
    assert me.status_code == 200 and me.json()["email"]  # a harmless dot segment is resolved


MiB = 1 << 20


async def test_a_body_larger_than_its_endpoint_takes_is_a_413_and_changes_nothing(
    gateway: httpx.AsyncClient, customer: dict[str, str], vendor_admin: dict[str, str]
) -> None:
    before = await _total(gateway, customer)
    ticket = json.dumps({"subject": "Prevelik zahtevek", "body": "x" * (2 * MiB)}).encode()

    async def in_parts() -> AsyncIterator[bytes]:  # chunked: no Content-Length to go by
        for start in range(0, len(ticket), 64 * 1024):
            yield ticket[start : start + 64 * 1024]

    declared = await gateway.post("/api/tickets", content=ticket, headers={**customer, **JSON})
    streamed = await gateway.post("/api/tickets", content=in_parts(), headers={**customer, **JSON})
    password = await gateway.post(
        "/api/auth/login", json={"email": CUSTOMER.email, "password": "x" * (30 * MiB)}
    )

    for answer in (declared, streamed, password):
        assert answer.status_code == 413, (str(answer.request.url), answer.text[:200])
        assert "larger than 1,048,576 bytes" in answer.json()["detail"]
        assert len(answer.content) < 500  # a 30 MiB password once got a 31 MB answer
    assert await _total(gateway, customer) == before


async def test_an_import_may_be_larger_than_other_bodies(
    gateway: httpx.AsyncClient, vendor_admin: dict[str, str]
) -> None:
    reference = f"STARI-{uuid.uuid4().hex[:8]}"
    document = {
        "format": "old-portal-tickets/1",
        "tickets": [
            {
                "reference": reference,
                "state": "open",
                "requester_email": CUSTOMER.email,
                "subject": "Dolg zahtevek",
                "body": "x" * (2 * MiB),  # past 1 MiB, within the import's 25 MiB
                "submitted_at": "2024-05-06T08:00:00+02:00",
            }
        ],
    }

    judged = await gateway.post("/api/tickets/import", json=document, headers=vendor_admin)

    assert judged.status_code == 422, judged.text[:300]  # read and judged: the text is too long
    archive = await gateway.get(
        "/api/tickets/archive", params={"q": reference}, headers=vendor_admin
    )
    assert archive.status_code == 200 and archive.json()["items"] == []
