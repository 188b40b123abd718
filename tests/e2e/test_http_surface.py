"""The HTTP surface the portal's browser meets at the gateway: redirects, cross-origin calls,
request sizes (issue "hardened HTTP", points 4 and 5)."""

from __future__ import annotations

import httpx

from devstack.stack import Stack
from tests.support import PORTAL_ORIGIN

STRANGER = "https://napadalec.example"


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-")}


async def _preflight(gateway: httpx.AsyncClient, origin: str) -> httpx.Response:
    """A browser's question before it POSTs a ticket with credentials from `origin`."""
    return await gateway.options(
        "/api/tickets",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )


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


async def test_the_portals_page_may_call_the_api_with_credentials(
    gateway: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    preflight = await _preflight(gateway, PORTAL_ORIGIN)
    created = await gateway.post(
        "/api/tickets",
        json={"subject": "Klic s portala", "body": "Iz brskalnika."},
        headers={**customer, "origin": PORTAL_ORIGIN},
    )

    assert preflight.status_code == 204  # before, OPTIONS reached the service: 405
    assert preflight.headers["access-control-allow-origin"] == PORTAL_ORIGIN
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "POST" in preflight.headers["access-control-allow-methods"].split(", ")
    allowed = {h.lower() for h in preflight.headers["access-control-allow-headers"].split(", ")}
    assert {"authorization", "content-type"} <= allowed
    assert int(preflight.headers["access-control-max-age"]) > 0
    assert created.status_code == 201
    assert created.headers["access-control-allow-origin"] == PORTAL_ORIGIN
    assert created.headers["access-control-allow-credentials"] == "true"
    assert "X-Correlation-ID" in created.headers["access-control-expose-headers"]
    assert "Origin" in created.headers["vary"]


async def test_a_page_of_another_origin_gets_no_cross_origin_permission(
    gateway: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    preflight = await _preflight(gateway, STRANGER)
    listed = await gateway.get("/api/tickets", headers={**customer, "origin": STRANGER})
    forgot = await gateway.post(
        "/api/auth/password/forgot",
        json={"email": "nihce@nikjer.example"},
        headers={"origin": STRANGER},
    )

    assert preflight.status_code == 403
    assert _cors_headers(preflight) == {}
    # The answers are given (a server cannot stop a browser from asking), but without any
    # permission: the browser keeps them from the other origin's script.
    assert listed.status_code == 200
    assert _cors_headers(listed) == {}
    assert forgot.status_code == 202
    assert _cors_headers(forgot) == {}
