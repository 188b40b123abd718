"""The verification keys' cache: a known key answers at once even when the cache is old (the
refresh runs beside the requests), an unknown key id waits for a fetch, and made-up key ids
cannot make it fetch more than once per `min_refresh_s`."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from services.runtime.identity import JwksKeySource


def _jwk(kid: str) -> dict[str, Any]:
    key = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key(), as_dict=True)
    return {**key, "kid": kid, "alg": "ES256", "use": "sig"}


class Auth:
    """auth's JWKS endpoint: the keys it publishes now, and how often it was asked; a fetch
    can be held until the test lets it go."""

    def __init__(self, *kids: str) -> None:
        self.keys = [_jwk(k) for k in kids]
        self.fetches = 0
        self.held = asyncio.Event()
        self.held.set()

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        await self.held.wait()
        return httpx.Response(200, json={"keys": self.keys})


def _source(auth: Auth, *, max_age_s: float = 300, min_refresh_s: float = 1) -> JwksKeySource:
    return JwksKeySource(
        "http://auth/jwks",
        max_age_s=max_age_s,
        min_refresh_s=min_refresh_s,
        transport=httpx.MockTransport(auth.handle),
    )


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_an_old_cache_answers_a_known_key_at_once_and_refreshes_beside_it() -> None:
    auth = Auth("k1")
    keys = _source(auth, max_age_s=0.05, min_refresh_s=0)
    assert await keys.key("k1") is not None
    assert auth.fetches == 1

    await asyncio.sleep(0.06)  # the cache is old
    auth.held.clear()  # auth answers slowly
    auth.keys = [_jwk("k2")]  # and has rotated k1 out
    assert await asyncio.wait_for(keys.key("k1"), timeout=1) is not None
    assert await asyncio.wait_for(keys.key("k1"), timeout=1) is not None
    await _settle()
    assert auth.fetches == 2  # one refresh, however many requests came meanwhile

    auth.held.set()
    await _settle()
    assert await keys.key("k1") is None  # the refresh has ended: k1 is gone
    assert await keys.key("k2") is not None


async def test_an_unknown_key_id_waits_for_a_fetch_at_most_once_per_min_refresh() -> None:
    auth = Auth("k1")
    keys = _source(auth, min_refresh_s=0.2)
    assert await keys.key("k1") is not None
    loop = asyncio.get_running_loop()
    started = loop.time()

    assert await keys.key("made-up") is None
    assert await keys.key("made-up-too") is None

    assert auth.fetches == 3
    assert loop.time() - started >= 0.4 - 0.01
