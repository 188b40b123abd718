"""Accounts end to end through the gateway: the seed's first-login/reset flow, sessions, tokens,
throttling, administration and organization isolation (docs/reliability.md 13-20)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from contracts.topics import ACCOUNTS_EVENTS
from devstack.stack import DEMO_PASSWORD, Stack
from services.auth.demo import CUSTOMER, DEMO_ORG
from services.auth.sealing import DEVELOPMENT_KEY, Sealed, Sealer
from services.runtime.clock import ControlledClock
from tests.e2e.helpers import (
    bearer,
    create_organization,
    create_user,
    link_token,
    mails_to,
    next_mail_to,
    request_link,
    reset_password,
    set_password,
    sign_in,
    submit_ticket,
)
from tests.support import client_from, eventually, fetch, loopback_address, read_topic

NEW_PASSWORD = "dolgo in preprosto geslo"


APP = {"refresh_token_in_body": True}
"""What a client that is not a browser sends to get the refresh token in the answer."""


async def _refresh(gateway: httpx.AsyncClient, token: str) -> httpx.Response:
    """Refresh as such a client: the token in the body, the new one asked for in the answer."""
    return await gateway.post("/api/auth/refresh", json={"refresh_token": token, **APP})


async def test_the_seeds_first_login_and_reset_flow(
    gateway: httpx.AsyncClient, stack: Stack, vendor_admin: dict[str, str]
) -> None:
    user = await create_user(gateway, vendor_admin, org_id=str(DEMO_ORG.id))
    email = user["email"]
    assert user["has_password"] is False
    no_password_yet = await gateway.post(
        "/api/auth/login", json={"email": email, "password": "karkoli-karkoli"}
    )
    assert no_password_yet.status_code == 401

    # First login: "forgot password" -> e-mail -> link -> new password twice -> sign in.
    await set_password(gateway, stack, email, "prvo geslo za portal")
    first = await sign_in(gateway, email, "prvo geslo za portal", stay_signed_in=True, **APP)
    assert (await gateway.get("/api/auth/me", headers=bearer(first))).json()["email"] == email

    # A later reset: the link works once, ends the old session, and does not sign in.
    mail = await request_link(gateway, stack, email)
    assert mail.subject == "Ponastavitev gesla za uporabniški portal"
    assert f"{stack.gateway_url}/ponastavitev-gesla?token=" in mail.text()
    token = link_token(mail)
    seen = len(mails_to(stack, email))
    done = await reset_password(gateway, token, NEW_PASSWORD)
    assert done.status_code == 200
    assert "access_token" not in done.json()
    # A link is for one use.
    assert (await reset_password(gateway, token, "se eno novo geslo")).status_code == 400
    assert (await _refresh(gateway, first["refresh_token"])).status_code == 401
    old = await gateway.post(
        "/api/auth/login", json={"email": email, "password": "prvo geslo za portal"}
    )
    assert old.status_code == 401
    await sign_in(gateway, email, NEW_PASSWORD)
    confirmation = await next_mail_to(stack, email, seen=seen)
    assert confirmation.subject == "Vaše geslo je bilo spremenjeno"


async def test_the_reset_link_comes_from_configuration_not_from_the_host_header(
    gateway: httpx.AsyncClient, stack: Stack, vendor_admin: dict[str, str]
) -> None:
    email = (await create_user(gateway, vendor_admin, org_id=str(DEMO_ORG.id)))["email"]
    seen = len(mails_to(stack, email))
    response = await gateway.post(
        "/api/auth/password/forgot",
        json={"email": email},
        headers={"host": "napadalec.example", "x-forwarded-host": "napadalec.example"},
    )
    assert response.status_code == 202
    text = (await next_mail_to(stack, email, seen=seen)).text()
    assert "napadalec" not in text
    assert f"{stack.gateway_url}/ponastavitev-gesla?token=" in text


@pytest.mark.calendar
async def test_expired_and_unknown_reset_links_are_refused_and_change_nothing(
    gateway: httpx.AsyncClient,
    stack: Stack,
    vendor_admin: dict[str, str],
    admin_dsn_for,
    clock: ControlledClock,
) -> None:
    user = await create_user(gateway, vendor_admin, org_id=str(DEMO_ORG.id))
    token = link_token(await request_link(gateway, stack, user["email"]))
    clock.advance(timedelta(hours=1, seconds=1))  # a reset link lives one hour
    assert (await reset_password(gateway, token, NEW_PASSWORD)).status_code == 400
    assert (await reset_password(gateway, "x" * 43, NEW_PASSWORD)).status_code == 400
    rows = await fetch(
        admin_dsn_for("auth"),
        "SELECT password_hash FROM users WHERE id = $1",
        uuid.UUID(user["user_id"]),
    )
    assert rows[0]["password_hash"] is None


async def test_password_rules_length_only_and_typed_twice(
    gateway: httpx.AsyncClient, stack: Stack, vendor_admin: dict[str, str]
) -> None:
    email = (await create_user(gateway, vendor_admin, org_id=str(DEMO_ORG.id)))["email"]
    token = link_token(await request_link(gateway, stack, email))

    too_short = await reset_password(gateway, token, "1234567")
    differ = await reset_password(gateway, token, "dovolj dolgo geslo", "dovolj dolgo gesl0")
    assert too_short.status_code == differ.status_code == 422
    assert "at least 8" in too_short.json()["detail"]
    long_password = "a" * 64 + "ž" * 36  # 100 characters, no composition rules
    # The link is still valid.
    assert (await reset_password(gateway, token, long_password)).status_code == 200
    await sign_in(gateway, email, long_password)
    await set_password(gateway, stack, email, "12345678")  # eight is enough
    await sign_in(gateway, email, "12345678")


async def test_known_and_unknown_emails_get_the_same_answers(
    gateway: httpx.AsyncClient, stack: Stack
) -> None:
    known = await gateway.post(
        "/api/auth/login", json={"email": CUSTOMER.email, "password": "napačno geslo"}
    )
    unknown = await gateway.post(
        "/api/auth/login", json={"email": "nihce@nikjer.example", "password": "napačno geslo"}
    )
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 401

    forgot_known = await gateway.post(
        "/api/auth/password/forgot", json={"email": CUSTOMER.email.upper()}
    )
    forgot_unknown = await gateway.post(
        "/api/auth/password/forgot", json={"email": "nihce@nikjer.example"}
    )
    assert forgot_known.status_code == forgot_unknown.status_code == 202
    assert forgot_known.json() == forgot_unknown.json()
    await next_mail_to(stack, CUSTOMER.email, seen=len(mails_to(stack, CUSTOMER.email)) - 1)
    assert mails_to(stack, "nihce@nikjer.example") == []


@pytest.mark.calendar
async def test_password_links_to_one_address_are_capped_and_the_answer_never_changes(
    gateway: httpx.AsyncClient,
    stack: Stack,
    vendor_admin: dict[str, str],
    admin_dsn_for,
    clock: ControlledClock,
) -> None:
    user = await create_user(gateway, vendor_admin, org_id=str(DEMO_ORG.id))
    email, user_id = user["email"], uuid.UUID(user["user_id"])
    auth = admin_dsn_for("auth")

    async def forgot(address: str) -> httpx.Response:
        return await gateway.post("/api/auth/password/forgot", json={"email": address})

    answers = [await forgot(email) for _ in range(13)]  # 12 sent 12 e-mails in 0.1 s before
    unknown = await forgot(f"nihce-{uuid.uuid4().hex[:8]}@nikjer.example")
    reinvited = await gateway.post(f"/api/auth/users/{user_id}/invitation", headers=vendor_admin)

    # Every answer is the one an unknown address gets; nothing tells that the cap was reached.
    assert {(a.status_code, a.text) for a in answers} == {(unknown.status_code, unknown.text)}
    assert reinvited.status_code == 202 and reinvited.json() == {"detail": "Invitation sent."}
    intents = await fetch(
        auth,
        "SELECT count(*) AS n FROM outbox WHERE event_type = 'PasswordResetRequested'"
        " AND message_key = $1",
        str(user_id),
    )
    assert intents[0]["n"] == 5  # AUTH_PASSWORD_LINKS_PER_WINDOW: no e-mail is asked for beyond
    audit = await fetch(
        auth,
        "SELECT link_sent FROM password_reset_requests WHERE matched_user = $1 ORDER BY id",
        user_id,
    )
    assert [row["link_sent"] for row in audit] == [True] * 5 + [False] * 8
    await next_mail_to(stack, email, seen=4)  # the fifth arrives...
    assert len(mails_to(stack, email)) == 5  # ...and no more were ever queued

    clock.advance(timedelta(hours=1, seconds=1))  # the window has passed: links go out again
    assert (await forgot(email)).text == unknown.text
    await next_mail_to(stack, email, seen=5)


async def test_refresh_rotates_and_reuse_revokes_the_whole_family(
    gateway: httpx.AsyncClient,
) -> None:
    tokens = await sign_in(gateway, CUSTOMER.email, DEMO_PASSWORD, **APP)
    first = tokens["refresh_token"]
    second = await _refresh(gateway, first)
    assert second.status_code == 200
    third = await _refresh(gateway, second.json()["refresh_token"])
    assert third.status_code == 200
    assert (await gateway.get("/api/tickets", headers=bearer(third.json()))).status_code == 200

    assert (await _refresh(gateway, first)).status_code == 401  # reuse of a rotated token
    assert (await _refresh(gateway, third.json()["refresh_token"])).status_code == 401
    other = await sign_in(gateway, CUSTOMER.email, DEMO_PASSWORD, **APP)  # other sessions live on
    assert (await _refresh(gateway, other["refresh_token"])).status_code == 200


async def test_stay_signed_in_gives_a_long_session_and_a_lasting_cookie(
    gateway: httpx.AsyncClient, clock: ControlledClock
) -> None:
    now = clock.now()
    long = await gateway.post(
        "/api/auth/login",
        json={"email": CUSTOMER.email, "password": DEMO_PASSWORD, "stay_signed_in": True},
    )
    short = await gateway.post(
        "/api/auth/login", json={"email": CUSTOMER.email, "password": DEMO_PASSWORD}
    )
    long_until = datetime.fromisoformat(long.json()["refresh_expires_at"])
    short_until = datetime.fromisoformat(short.json()["refresh_expires_at"])
    assert abs(long_until - (now + timedelta(days=30))) < timedelta(minutes=1)
    assert abs(short_until - (now + timedelta(hours=12))) < timedelta(minutes=1)
    long_cookie, short_cookie = long.headers["set-cookie"], short.headers["set-cookie"]
    for cookie in (long_cookie, short_cookie):
        assert "HttpOnly" in cookie and "Path=/api/auth" in cookie and "SameSite=strict" in cookie
    assert "expires=" in long_cookie.lower()
    assert "expires=" not in short_cookie.lower()  # ends with the browser session
    # The cookie alone refreshes (the browser sends it back), and logout ends the session.
    jar = httpx.Cookies({"refresh_token": short.cookies["refresh_token"]})
    async with httpx.AsyncClient(base_url=str(gateway.base_url), cookies=jar) as browser:
        refreshed = await browser.post("/api/auth/refresh")
        assert refreshed.status_code == 200
        assert (await browser.post("/api/auth/logout")).status_code == 204
    assert (await _refresh(gateway, refreshed.cookies["refresh_token"])).status_code == 401


async def test_a_browser_gets_the_refresh_token_only_as_an_httponly_cookie(
    gateway: httpx.AsyncClient,
) -> None:
    base, login = str(gateway.base_url), {"email": CUSTOMER.email, "password": DEMO_PASSWORD}
    async with httpx.AsyncClient(base_url=base) as browser:
        signed_in = await browser.post("/api/auth/login", json=login)
        refreshed = await browser.post("/api/auth/refresh")  # the cookie, as a browser sends it
        # A script on the page can make the browser send the cookie and ask for the token in
        # the answer: refused before anything is spent.
        asked = await browser.post("/api/auth/refresh", json={"refresh_token_in_body": True})
        still = await browser.post("/api/auth/refresh")

    for answer in (signed_in, refreshed, still):
        assert answer.status_code == 200, answer.text
        assert "refresh_token" not in answer.json()
        assert answer.json()["access_token"]
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("refresh_token=") and "HttpOnly" in cookie
        assert answer.cookies["refresh_token"] not in answer.text
    assert asked.status_code == 422
    assert "refresh_token_in_body" in asked.text
    assert "refresh_token=" not in asked.headers.get("set-cookie", "")


async def test_a_client_that_is_not_a_browser_asks_for_the_refresh_token_in_the_body(
    gateway: httpx.AsyncClient,
) -> None:
    signed_in = await gateway.post(
        "/api/auth/login",
        json={"email": CUSTOMER.email, "password": DEMO_PASSWORD, "refresh_token_in_body": True},
    )
    token = signed_in.json()["refresh_token"]
    rotated = await _refresh(gateway, token)
    not_asked = await gateway.post(
        "/api/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )

    assert token == signed_in.cookies["refresh_token"]
    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] not in (None, token)
    assert not_asked.status_code == 200
    assert "refresh_token" not in not_asked.json()  # rotated all the same: it is in the cookie


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_forged_expired_and_misaddressed_tokens_get_401(
    gateway: httpx.AsyncClient, customer: dict[str, str], admin_dsn_for, clock: ControlledClock
) -> None:
    valid = customer["authorization"].removeprefix("Bearer ")
    header = jwt.get_unverified_header(valid)
    claims = jwt.decode(valid, options={"verify_signature": False})
    [row] = await fetch(
        admin_dsn_for("auth"),
        "SELECT sealed_private_key, sealed_with FROM signing_keys WHERE kid = $1",
        header["kid"],
    )
    # The test stack seals with the public development key (services/auth/sealing.py).
    pem = Sealer([DEVELOPMENT_KEY]).open(Sealed(row["sealed_private_key"], row["sealed_with"]))
    real_key = serialization.load_pem_private_key(pem, password=None)
    stranger = ec.generate_private_key(ec.SECP256R1())
    now = clock.now()
    kid = {"kid": header["kid"]}
    forged = {
        "alg=none": f"{_b64({'alg': 'none', 'typ': 'JWT', **kid})}.{_b64(claims)}.",
        "wrong key": jwt.encode(claims, stranger, algorithm="ES256", headers=kid),
        "expired": jwt.encode(
            {**claims, "iat": now - timedelta(hours=2), "exp": now - timedelta(hours=1)},
            real_key,
            algorithm="ES256",
            headers=kid,
        ),
        "wrong audience": jwt.encode(
            {**claims, "aud": "some-other-api"}, real_key, algorithm="ES256", headers=kid
        ),
        "wrong issuer": jwt.encode(
            {**claims, "iss": "someone-else"}, real_key, algorithm="ES256", headers=kid
        ),
        "HS256 (not allowed)": jwt.api_jws.PyJWS().encode(
            json.dumps({**claims, "org": str(uuid.uuid4())}).encode(),
            b"an HMAC secret of thirty-two bytes!",
            algorithm="HS256",
            headers=kid,
        ),
        "tampered claims": ".".join(
            [valid.split(".")[0], _b64({**claims, "roles": ["consultant"]}), valid.split(".")[2]]
        ),
        "unknown key id": jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": "nope"}),
    }
    assert (await gateway.get("/api/tickets", headers=customer)).status_code == 200
    for name, token in forged.items():
        for path in ("/api/tickets", "/api/auth/me", "/api/notify/emails"):
            answer = await gateway.get(path, headers={"authorization": f"Bearer {token}"})
            assert answer.status_code == 401, (name, path, answer.text)


@pytest.mark.calendar
async def test_an_access_token_expires_with_business_time_and_the_refresh_token_renews_it(
    gateway: httpx.AsyncClient, clock: ControlledClock
) -> None:
    tokens = await sign_in(gateway, CUSTOMER.email, DEMO_PASSWORD, **APP)
    assert (await gateway.get("/api/tickets", headers=bearer(tokens))).status_code == 200

    clock.advance(timedelta(minutes=9))  # access tokens live 10 minutes (30 s leeway)
    assert (await gateway.get("/api/tickets", headers=bearer(tokens))).status_code == 200
    clock.advance(timedelta(minutes=2))
    for path in ("/api/tickets", "/api/auth/me", "/api/billing/rules", "/api/notify/emails"):
        assert (await gateway.get(path, headers=bearer(tokens))).status_code == 401, path

    renewed = await _refresh(gateway, tokens["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert (await gateway.get("/api/tickets", headers=bearer(renewed.json()))).status_code == 200

    clock.advance(timedelta(hours=12, minutes=1))  # the session without "stay signed in" ends
    assert (await _refresh(gateway, renewed.json()["refresh_token"])).status_code == 401


async def test_signing_key_rotation_signs_nobody_out(
    gateway: httpx.AsyncClient, vendor_admin: dict[str, str], customer: dict[str, str]
) -> None:
    before = await sign_in(gateway, CUSTOMER.email, DEMO_PASSWORD)
    rotated = await gateway.post("/api/auth/keys/rotate", headers=vendor_admin)
    assert rotated.status_code == 201
    after = await sign_in(gateway, CUSTOMER.email, DEMO_PASSWORD)
    assert jwt.get_unverified_header(after["access_token"])["kid"] == rotated.json()["kid"]
    for tokens in (before, after):
        assert (await gateway.get("/api/tickets", headers=bearer(tokens))).status_code == 200
    jwks = (await gateway.get("/api/auth/.well-known/jwks.json")).json()
    published = {k["kid"] for k in jwks["keys"]}
    assert jwt.get_unverified_header(before["access_token"])["kid"] in published
    assert rotated.json()["kid"] in published
    assert all("d" not in k for k in jwks["keys"])  # public keys only
    forbidden = await gateway.post("/api/auth/keys/rotate", headers=customer)
    assert forbidden.status_code == 403


async def test_guessing_is_throttled_per_account_alike_for_unknown_emails_and_reset_still_works(
    gateway: httpx.AsyncClient, stack: Stack, vendor_admin: dict[str, str]
) -> None:
    email = (await create_user(gateway, vendor_admin, org_id=str(DEMO_ORG.id)))["email"]
    await set_password(gateway, stack, email, "pravo geslo 123")
    unknown = f"nihce-{uuid.uuid4().hex[:8]}@nikjer.example"

    async def attempts(address: str, password: str, n: int) -> list[int]:
        out = []
        for _ in range(n):  # each from an address of its own: only the account is counted
            async with client_from(str(gateway.base_url), loopback_address()) as client:
                response = await client.post(
                    "/api/auth/login", json={"email": address, "password": password}
                )
            out.append(response.status_code)
        return out

    # Five free failures; the sixth starts a wait (5 s in the test stack, so that a slow machine
    # cannot let it run out before it is checked). Each lock is checked right after it starts.
    async def locked_after_failures(address: str, right_password: str) -> httpx.Response:
        assert await attempts(address, "napačno", 6) == [401] * 6
        return await gateway.post(
            "/api/auth/login", json={"email": address, "password": right_password}
        )

    locked = await locked_after_failures(email, "pravo geslo 123")  # even the right password
    locked_unknown = await locked_after_failures(unknown, "pravo geslo 123")
    assert locked.status_code == locked_unknown.status_code == 429
    assert locked.json() == locked_unknown.json()
    assert 1 <= int(locked.headers["retry-after"]) <= 5

    # The lockout never blocks the reset flow, and a reset lifts it.
    await set_password(gateway, stack, email, "novo pravo geslo")
    await sign_in(gateway, email, "novo pravo geslo")


async def test_guessing_is_throttled_per_client_address(gateway: httpx.AsyncClient) -> None:
    async with client_from(str(gateway.base_url), loopback_address()) as guesser:
        statuses = []
        for _ in range(21):  # twenty free failures from one address, over many accounts
            response = await guesser.post(
                "/api/auth/login",
                json={"email": f"ugibanje-{uuid.uuid4().hex[:8]}@nikjer.example", "password": "x"},
            )
            statuses.append(response.status_code)
        assert statuses == [401] * 21
        blocked = await guesser.post(
            "/api/auth/login", json={"email": CUSTOMER.email, "password": DEMO_PASSWORD}
        )
    assert blocked.status_code == 429
    assert (
        await gateway.post(
            "/api/auth/login", json={"email": CUSTOMER.email, "password": DEMO_PASSWORD}
        )
    ).status_code == 200  # other addresses are not affected


async def test_the_address_counted_is_the_connections_not_one_named_in_x_forwarded_for(
    gateway: httpx.AsyncClient, admin_dsn_for
) -> None:
    auth_dsn = admin_dsn_for("auth")

    async def failures(address: str) -> int:
        rows = await fetch(auth_dsn, "SELECT failures FROM login_throttle WHERE key = $1", address)
        return int(rows[0]["failures"]) if rows else 0

    # From 127.0.0.1, the address uvicorn trusts as a proxy by default: still not believed.
    claimed = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    before = await failures("ip:127.0.0.1")
    refused = await gateway.post(
        "/api/auth/login",
        json={"email": f"ugibanje-{uuid.uuid4().hex[:8]}@nikjer.example", "password": "x"},
        headers={"x-forwarded-for": claimed},
    )
    assert refused.status_code == 401
    assert await failures("ip:127.0.0.1") == before + 1
    assert await failures(f"ip:{claimed}") == 0

    # A guesser naming a new address each time, or a victim's, is counted as itself.
    guesser_address, victim_address = loopback_address(), loopback_address()
    base = str(gateway.base_url)
    async with client_from(base, guesser_address) as guesser:
        statuses = []
        for i in range(21):
            response = await guesser.post(
                "/api/auth/login",
                json={"email": f"ugibanje-{uuid.uuid4().hex[:8]}@nikjer.example", "password": "x"},
                headers={"x-forwarded-for": victim_address if i % 2 else f"198.51.100.{i + 1}"},
            )
            statuses.append(response.status_code)
        assert statuses == [401] * 21
        still_blocked = await guesser.post(
            "/api/auth/login",
            json={"email": CUSTOMER.email, "password": DEMO_PASSWORD},
            headers={"x-forwarded-for": "198.51.100.77"},
        )
    assert still_blocked.status_code == 429
    async with client_from(base, victim_address) as victim:
        signed_in = await victim.post(
            "/api/auth/login", json={"email": CUSTOMER.email, "password": DEMO_PASSWORD}
        )
    assert signed_in.status_code == 200  # naming the victim's address locked nobody out
    assert await failures(f"ip:{victim_address}") == 0
    assert await failures(f"ip:{guesser_address}") == 21


async def test_login_rehashes_a_password_stored_with_old_parameters(
    gateway: httpx.AsyncClient, stack: Stack, vendor_admin: dict[str, str], admin_dsn_for
) -> None:
    user = await create_user(gateway, vendor_admin, org_id=str(DEMO_ORG.id))
    old_hash = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash("staro geslo 1")
    await fetch(
        admin_dsn_for("auth"),
        "UPDATE users SET password_hash = $2 WHERE id = $1",
        uuid.UUID(user["user_id"]),
        old_hash,
    )
    await sign_in(gateway, user["email"], "staro geslo 1")
    [row] = await fetch(
        admin_dsn_for("auth"),
        "SELECT password_hash FROM users WHERE id = $1",
        uuid.UUID(user["user_id"]),
    )
    assert row["password_hash"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    await sign_in(gateway, user["email"], "staro geslo 1")


async def test_organizations_see_only_their_own_tickets_and_consultants_see_all(
    gateway: httpx.AsyncClient,
    stack: Stack,
    vendor_admin: dict[str, str],
    customer: dict[str, str],
    consultant: dict[str, str],
) -> None:
    org_b = await create_organization(gateway, vendor_admin)
    person_b = await create_user(gateway, vendor_admin, org_id=org_b)
    await set_password(gateway, stack, person_b["email"], "geslo osebe b")
    b = bearer(await sign_in(gateway, person_b["email"], "geslo osebe b"))
    ticket_b = await submit_ticket(gateway, b, subject="Zaupno: organizacija B")
    ticket_a = await submit_ticket(gateway, customer, subject="Organizacija A")

    for path in (
        f"/api/tickets/{ticket_b['id']}",
        f"/api/billing/tickets/{ticket_b['id']}/decisions",
    ):
        assert (await gateway.get(path, headers=customer)).status_code == 404, path
    assert (await gateway.get(f"/api/tickets/{ticket_a['id']}", headers=b)).status_code == 404
    listed_a = (await gateway.get("/api/tickets?limit=100", headers=customer)).json()["items"]
    listed_b = (await gateway.get("/api/tickets?limit=100", headers=b)).json()["items"]
    assert ticket_b["id"] not in {t["id"] for t in listed_a}
    assert {t["id"] for t in listed_b} == {ticket_b["id"]}
    assert ticket_b["org_id"] == org_b  # from the token, never from the request
    seen_by_staff = await gateway.get(f"/api/tickets/{ticket_b['id']}", headers=consultant)
    assert seen_by_staff.status_code == 200

    async def b_mails() -> list[dict[str, Any]]:
        emails = (await gateway.get("/api/notify/emails", headers=b)).json()["items"]
        return [e for e in emails if e["ticket_id"] == ticket_b["id"]]

    await eventually(b_mails, what="organization B's e-mail about its ticket")
    mails_a = (await gateway.get("/api/notify/emails?limit=100", headers=customer)).json()
    mails_a = mails_a["items"]
    assert ticket_b["id"] not in {e["ticket_id"] for e in mails_a}


async def test_customer_admins_manage_only_their_own_organization(
    gateway: httpx.AsyncClient, vendor_admin: dict[str, str], customer: dict[str, str]
) -> None:
    other_org = await create_organization(gateway, vendor_admin)
    stranger = await create_user(gateway, vendor_admin, org_id=other_org)
    colleague = await create_user(gateway, customer)  # Ana is the demo org's customer admin
    assert colleague["org_id"] == str(DEMO_ORG.id)

    listed = (await gateway.get("/api/auth/users?limit=200", headers=customer)).json()
    assert {u["org_id"] for u in listed["items"]} == {str(DEMO_ORG.id)}
    assert (
        await gateway.get(f"/api/auth/users/{stranger['user_id']}", headers=customer)
    ).status_code == 404
    patch = await gateway.patch(
        f"/api/auth/users/{stranger['user_id']}", json={"active": False}, headers=customer
    )
    assert patch.status_code == 404
    into_other = await gateway.post(
        "/api/auth/users",
        json={
            "org_id": other_org,
            "email": f"x-{uuid.uuid4().hex[:6]}@x.example",
            "display_name": "X",
            "invite": False,
        },
        headers=customer,
    )
    assert into_other.status_code == 404
    vendor_role = await gateway.post(
        "/api/auth/users",
        json={
            "email": f"y-{uuid.uuid4().hex[:6]}@x.example",
            "display_name": "Y",
            "roles": ["consultant"],
            "invite": False,
        },
        headers=customer,
    )
    assert vendor_role.status_code == 422
    org = await gateway.post("/api/auth/organizations", json={"name": "Nova"}, headers=customer)
    assert org.status_code == 403


async def test_user_changes_are_published_and_deactivation_ends_sessions(
    gateway: httpx.AsyncClient, stack: Stack, vendor_admin: dict[str, str]
) -> None:
    org_id = await create_organization(gateway, vendor_admin)
    user = await create_user(gateway, vendor_admin, org_id=org_id)
    await set_password(gateway, stack, user["email"], "geslo za dogodke")
    session = await sign_in(gateway, user["email"], "geslo za dogodke", **APP)
    path = f"/api/auth/users/{user['user_id']}"
    assert (
        await gateway.patch(path, json={"language": "en"}, headers=vendor_admin)
    ).status_code == 200
    assert (
        await gateway.patch(path, json={"active": False}, headers=vendor_admin)
    ).status_code == 200

    assert (await _refresh(gateway, session["refresh_token"])).status_code == 401
    login = await gateway.post(
        "/api/auth/login", json={"email": user["email"], "password": "geslo za dogodke"}
    )
    assert login.status_code == 401
    duplicate = await gateway.post(
        "/api/auth/organizations", json={"name": "x"}, headers=vendor_admin
    )
    assert duplicate.status_code == 201
    again = await gateway.post("/api/auth/organizations", json={"name": "X"}, headers=vendor_admin)
    assert again.status_code == 409

    assert stack.endpoints is not None

    async def events() -> list[tuple[str, str]]:
        records = await read_topic(stack.endpoints.kafka_bootstrap, ACCOUNTS_EVENTS)  # type: ignore[union-attr]
        mine = [
            json.loads(r.value)
            for r in records
            if r.key in (user["user_id"].encode(), org_id.encode())
        ]
        found = [(e["event_type"], e["aggregate_id"]) for e in mine]
        wanted = {
            "OrganizationCreated",
            "UserCreated",
            "UserLanguageChanged",
            "UserDeactivated",
            "PasswordResetRequested",
            "PasswordResetCompleted",
        }
        return found if wanted <= {t for t, _ in found} else []

    found = await eventually(events, what="account events on the topic")
    assert ("OrganizationCreated", org_id) in found
    assert ("UserDeactivated", user["user_id"]) in found


async def test_legacy_import_is_all_or_nothing_and_safe_to_run_twice(
    gateway: httpx.AsyncClient, stack: Stack, vendor_admin: dict[str, str], customer: dict[str, str]
) -> None:
    tag = uuid.uuid4().hex[:8]
    emails = [f"uvoz-{tag}-{i}@stari-portal.example" for i in range(3)]
    csv_text = (
        "organization,email,name,language\n"
        f"Stari Portal {tag} d.o.o.,{emails[0]},Janez Novak,sl\n"
        f"Stari Portal {tag} d.o.o.,{emails[1].upper()},Mojca Kovač,\n"
        f"Drugo Podjetje {tag},{emails[2]},John Smith,en\n"
    )
    csv = {"content-type": "text/csv; charset=utf-8"}
    broken = csv_text + f"Drugo Podjetje {tag},ni-naslov,Brez Naslova,sl\n"
    bad = await gateway.post(
        "/api/auth/users/import", content=broken.encode(), headers={**vendor_admin, **csv}
    )
    assert bad.status_code == 422
    assert "line 5" in json.dumps(bad.json())
    listed = (await gateway.get("/api/auth/users?limit=200", headers=vendor_admin)).json()
    assert not {u["email"] for u in listed["items"]} & set(emails)

    first = await gateway.post(
        "/api/auth/users/import", content=csv_text.encode(), headers={**vendor_admin, **csv}
    )
    second = await gateway.post(
        "/api/auth/users/import", content=csv_text.encode(), headers={**vendor_admin, **csv}
    )
    assert first.status_code == second.status_code == 200, first.text
    assert first.json() == {
        "organizations_created": 2,
        "users_created": 3,
        "users_unchanged": 0,
        "invitations_sent": 3,
    }
    assert second.json() == {
        "organizations_created": 0,
        "users_created": 0,
        "users_unchanged": 3,
        "invitations_sent": 0,
    }
    invitation = await next_mail_to(stack, emails[2], seen=0)
    assert invitation.subject == "Welcome to the renewed customer portal"
    sl_invitation = await next_mail_to(stack, emails[0], seen=0)
    assert sl_invitation.subject == "Dobrodošli v prenovljenem uporabniškem portalu"
    # The invitation leads into the same reset flow.
    accepted = await reset_password(gateway, link_token(invitation), "geslo iz vabila")
    assert accepted.status_code == 200
    await sign_in(gateway, emails[2], "geslo iz vabila")
    assert len(mails_to(stack, emails[0])) == 1  # the second run invited nobody again
    refused = await gateway.post(
        "/api/auth/users/import", content=csv_text.encode(), headers={**customer, **csv}
    )
    assert refused.status_code == 403


@pytest.mark.parametrize("service", ["auth", "notify", "gateway"])
async def test_password_links_never_reach_the_logs_or_the_api(
    gateway: httpx.AsyncClient, stack: Stack, vendor_admin: dict[str, str], service: str
) -> None:
    user = await create_user(gateway, vendor_admin, org_id=str(DEMO_ORG.id))
    token = link_token(await request_link(gateway, stack, user["email"]))
    await set_password(gateway, stack, user["email"], "skrivnost ostane skrita")
    signed = await sign_in(gateway, user["email"], "skrivnost ostane skrita", **APP)
    log_text = (stack.log_dir / f"{service}.log").read_text(encoding="utf-8")
    assert token not in log_text
    assert signed["refresh_token"] not in log_text
    listed = await gateway.get("/api/notify/emails?limit=100", headers=bearer(signed))
    emails = listed.json()["items"]
    assert emails and all(token not in e["body"] for e in emails)
