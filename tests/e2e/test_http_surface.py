"""The HTTP surface the portal's browser meets at the gateway: redirects, cross-origin calls,
request sizes (issue "hardened HTTP", points 4 and 5)."""

from __future__ import annotations

import httpx

from devstack.stack import Stack


async def test_a_slash_redirect_sends_the_client_to_the_gateway_not_to_a_service(
    gateway: httpx.AsyncClient, stack: Stack, customer: dict[str, str]
) -> None:
    moved = await gateway.get("/api/tickets/", headers=customer)

    assert moved.status_code == 307
    location = moved.headers["location"]
    assert location == "/api/tickets"
    assert all(stack.urls[name] not in location for name in stack.urls if name != "gateway")
    followed = await gateway.get(moved.url.join(location), headers=customer)
    assert followed.status_code == 200 and "items" in followed.json()
