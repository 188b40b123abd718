"""Opaque tokens (refresh tokens, password links) and access tokens.

Opaque tokens carry 256 bits from `secrets` and are stored only as their SHA-256: a copy of the
database gives nobody a usable token. Session lifetimes (docs/reliability.md 18) are decided here.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from services.auth.keys import KeyStore
from services.runtime.identity import ALGORITHM, Principal

TOKEN_BYTES = 32


def new_opaque_token() -> str:
    """A fresh URL-safe token with 256 bits of entropy."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> bytes:
    """What the database keeps of an opaque token."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class SessionPolicy:
    """'Stay signed in' sessions slide: each refresh extends them. Others end a fixed time after
    sign-in (and with the browser session, since their cookie has no expiry)."""

    ttl: timedelta
    persistent_ttl: timedelta

    def expires_at(self, *, persistent: bool, started_at: datetime, now: datetime) -> datetime:
        if persistent:
            return now + self.persistent_ttl
        return started_at + self.ttl


@dataclass(frozen=True)
class AccessTokens:
    """Signs short-lived access tokens with the current key of the key store."""

    keys: KeyStore
    issuer: str
    audience: str
    ttl: timedelta

    async def issue(self, principal: Principal, *, now: datetime) -> str:
        key = await self.keys.signing_key()
        claims: dict[str, Any] = {
            **principal.claims(),
            "iss": self.issuer,
            "aud": self.audience,
            # With microseconds (RFC 7519 allows a fraction): a revocation refuses the tokens
            # issued at or before its moment, and a sign-in in the same second comes after it.
            "iat": now.timestamp(),
            "exp": now + self.ttl,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
