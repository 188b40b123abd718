"""Bad input through the gateway gets a clear 4xx and changes nothing, never a 500."""

from __future__ import annotations

import httpx


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
        detail = answer.json()["detail"]
        assert isinstance(detail, list) or "U+0000" in detail, detail
    assert await _total(gateway, customer) == before
