"""Who is calling. TEMPORARY development-only mechanism until the accounts issue lands.

The auth service signs a short-lived HS256 token for a seeded user (`POST /api/auth/dev/login`);
the other services verify it with the same secret and take user, organization and roles only from
the verified token. It is enabled only where `<SERVICE>_DEV_IDENTITY_SECRET` is set (`ticketing dev`
and the tests set it). The accounts issue replaces it with asymmetric JWTs verified through JWKS.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contracts.common import Language

DEV_AUDIENCE = "ticketing-dev"
DEV_ISSUER = "ticketing-auth-dev"
STAFF_ROLES = frozenset({"consultant", "vendor_admin"})

_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Principal:
    """The verified caller."""

    user_id: uuid.UUID
    org_id: uuid.UUID
    roles: frozenset[str]
    email: str
    display_name: str
    language: Language

    @property
    def is_staff(self) -> bool:
        """Vendor staff see every organization; customers only their own."""
        return bool(self.roles & STAFF_ROLES)

    @property
    def org_scope(self) -> uuid.UUID | None:
        """The organization every read must be filtered by, or None for vendor staff."""
        return None if self.is_staff else self.org_id


def issue_dev_token(principal: Principal, *, secret: str, ttl: timedelta) -> str:
    """Sign a development token for `principal`."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": DEV_ISSUER,
        "aud": DEV_AUDIENCE,
        "sub": str(principal.user_id),
        "org": str(principal.org_id),
        "roles": sorted(principal.roles),
        "email": principal.email,
        "name": principal.display_name,
        "lang": principal.language,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_dev_token(token: str, *, secret: str) -> Principal:
    """Return the principal of a valid token; raise `jwt.InvalidTokenError` otherwise."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=["HS256"],
        audience=DEV_AUDIENCE,
        issuer=DEV_ISSUER,
        options={"require": ["exp", "sub", "org", "aud", "iss"]},
    )
    language = claims.get("lang", "sl")
    if language not in ("sl", "en"):
        raise jwt.InvalidTokenError(f"unsupported language {language!r}")
    try:
        return Principal(
            user_id=uuid.UUID(claims["sub"]),
            org_id=uuid.UUID(claims["org"]),
            roles=frozenset(claims.get("roles", [])),
            email=claims["email"],
            display_name=claims["name"],
            language=language,
        )
    except (KeyError, ValueError, TypeError) as error:
        raise jwt.InvalidTokenError(f"malformed claims: {error}") from error


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the verified caller, or 401."""
    secret = request.app.state.dev_identity_secret
    if secret is None:
        raise HTTPException(503, "No identity provider is configured for this service.")
    if credentials is None:
        raise HTTPException(401, "Sign in first.", headers={"WWW-Authenticate": "Bearer"})
    try:
        return verify_dev_token(credentials.credentials, secret=secret)
    except jwt.InvalidTokenError:
        raise HTTPException(
            401, "The access token is invalid or expired.", headers={"WWW-Authenticate": "Bearer"}
        ) from None


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
