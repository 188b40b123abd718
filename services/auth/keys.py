"""The access tokens' signing keys (ES256): kept in auth's database so every auth replica signs
with the same key, published as a JWKS, rotated without downtime.

The private keys are kept sealed with a key-encryption key from configuration
(services/auth/sealing.py); at start the service seals keys stored in the clear before that, and
re-seals with the current key-encryption key what an older one sealed.

Rotation makes a new key the signing key at once and keeps the old one published until every
token it signed has expired; the other services fetch the JWKS again when a token names a key id
they do not know yet (see `services.runtime.identity.JwksKeySource`).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import structlog
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from services.auth.sealing import Sealed, Sealer
from services.runtime.clock import Clock
from services.runtime.db import Connection
from services.runtime.identity import ALGORITHM

log = structlog.get_logger(__name__)

_CREATE_LOCK = 0x61757468  # advisory lock id: one replica creates the first key


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: ec.EllipticCurvePrivateKey
    public_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None
    published_until: datetime | None


def generate_key(now: datetime) -> SigningKey:
    """A new P-256 key with a random key id."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    kid = f"{now:%Y%m%d}-{secrets.token_hex(4)}"
    jwk = json.loads(ECAlgorithm.to_jwk(private_key.public_key()))
    jwk.update(kid=kid, alg=ALGORITHM, use="sig")
    return SigningKey(kid, private_key, jwk, now, None, None)


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _key(row: asyncpg.Record, sealer: Sealer) -> SigningKey:
    if row["private_pem"] is not None:
        # Written by a replica of the version before sealing, while an upgrade rolls out; the
        # next start seals it.
        pem = row["private_pem"].encode()
    else:
        pem = sealer.open(Sealed(row["sealed_private_key"], row["sealed_with"]))
    private_key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(private_key, ec.EllipticCurvePrivateKey)
    return SigningKey(
        row["kid"],
        private_key,
        json.loads(row["public_jwk"]),
        row["created_at"],
        row["retired_at"],
        row["published_until"],
    )


async def _insert(conn: Connection, key: SigningKey, sealer: Sealer) -> None:
    sealed = sealer.seal(_pem(key.private_key))
    await conn.execute(
        "INSERT INTO signing_keys (kid, sealed_private_key, sealed_with, public_jwk, created_at)"
        " VALUES ($1, $2, $3, $4::jsonb, $5)",
        key.kid,
        sealed.token,
        sealed.sealed_with,
        json.dumps(key.public_jwk),
        key.created_at,
    )


async def _seal_all(conn: Connection, sealer: Sealer) -> dict[str, int]:
    """Seal the keys kept in the clear (from before sealing) and re-seal with the current
    key-encryption key what an older one sealed; the counts of each, for the log."""
    rows = await conn.fetch(
        "SELECT kid, private_pem, sealed_private_key, sealed_with FROM signing_keys"
        " WHERE sealed_with IS DISTINCT FROM $1 FOR UPDATE",
        sealer.current,
    )
    counts = {"sealed": 0, "resealed": 0}
    for row in rows:
        if row["private_pem"] is not None:
            sealed = sealer.seal(row["private_pem"].encode())
            counts["sealed"] += 1
        else:
            sealed = sealer.reseal(Sealed(row["sealed_private_key"], row["sealed_with"]))
            counts["resealed"] += 1
        await conn.execute(
            "UPDATE signing_keys SET private_pem = NULL, sealed_private_key = $2,"
            " sealed_with = $3 WHERE kid = $1",
            row["kid"],
            sealed.token,
            sealed.sealed_with,
        )
    return counts


class KeyStore:
    """Signing key and published keys, read from the database and cached for `cache_s`."""

    def __init__(
        self, *, retire_after: timedelta, clock: Clock, sealer: Sealer, cache_s: float = 30
    ) -> None:
        self._retire_after = retire_after
        self._sealer = sealer
        self._clock = clock
        self._cache_s = cache_s
        self._pool: asyncpg.Pool | None = None
        self._keys: list[SigningKey] = []
        self._loaded_at = float("-inf")
        self._lock = asyncio.Lock()

    async def start(self, pool: asyncpg.Pool) -> None:
        """Bind to the service's pool; seal what is not sealed with the current key-encryption
        key; create the first key if there is none (startup hook)."""
        self._pool = pool
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _CREATE_LOCK)
            counts = await _seal_all(conn, self._sealer)
            if any(counts.values()):
                log.info(
                    "signing keys sealed with the current key-encryption key",
                    key_encryption_key=self._sealer.current,
                    **counts,
                )
            if not await conn.fetchval("SELECT 1 FROM signing_keys WHERE retired_at IS NULL"):
                key = generate_key(self._clock.now())
                await _insert(conn, key, self._sealer)
                log.info("first signing key created", kid=key.kid)
        await self._load()

    async def rotate(self) -> str:
        """Make a new key the signing key; keep the old ones published until their tokens expire."""
        assert self._pool is not None
        now = self._clock.now()
        key = generate_key(now)
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE signing_keys SET retired_at = $1, published_until = $2"
                " WHERE retired_at IS NULL",
                now,
                now + self._retire_after,
            )
            await _insert(conn, key, self._sealer)
        await self._load()
        log.info("signing key rotated", kid=key.kid)
        return key.kid

    async def signing_key(self) -> SigningKey:
        await self._fresh()
        active = [k for k in self._keys if k.retired_at is None]
        if not active:
            raise RuntimeError("no active signing key")
        return max(active, key=lambda k: k.created_at)

    async def published(self) -> list[SigningKey]:
        """Keys that still verify tokens: the active one and retired ones not yet expired."""
        await self._fresh()
        now = self._clock.now()
        return [k for k in self._keys if k.published_until is None or k.published_until > now]

    async def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk for k in await self.published()]}

    async def key(self, kid: str) -> Any | None:
        """`KeySource` for auth's own verification of access tokens."""
        for key in await self.published():
            if key.kid == kid:
                return key.private_key.public_key()
        if time.monotonic() - self._loaded_at > 1:  # another replica may have rotated
            await self._load()
            for key in await self.published():
                if key.kid == kid:
                    return key.private_key.public_key()
        return None

    async def _fresh(self) -> None:
        if time.monotonic() - self._loaded_at > self._cache_s:
            await self._load()

    async def _load(self) -> None:
        assert self._pool is not None, "KeyStore.start() has not run"
        async with self._lock:
            async with self._pool.acquire() as conn:
                rows = await conn.fetch("SELECT * FROM signing_keys ORDER BY created_at")
            self._keys = [_key(r, self._sealer) for r in rows]
            self._loaded_at = time.monotonic()
