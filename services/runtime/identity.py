"""Who is calling: access tokens (JWT, RFC 8725) signed by the auth service, verified here.

Every service takes the user, organization and roles only from a verified token. Verification
allows ES256 only (never `none`, never HMAC), requires `exp`, `iss`, `aud`, `sub`, and takes the
key from a trusted key source by the token's `kid`, never from the token itself (no `jku`/`jwk`).

The key source is auth's JWKS endpoint for the other services (`JwksKeySource`) and auth's own key
store for auth. A `kid` the source does not know makes it refresh once (rate-limited), so a key
rotated in by auth is picked up without downtime; keys auth no longer publishes stop verifying
after the next periodic refresh.

A token auth has revoked since it was issued (a sign-out, a password reset, a deactivation, new
roles) is refused on every use, remembered or not, by the service's revocation list
(services/runtime/revocation.py).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

import httpx
import jwt
import structlog
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from contracts.common import Language
from services.runtime.clock import Clock
from services.runtime.revocation import RevocationList, RevocationsOutdatedError

log = structlog.get_logger(__name__)

ALGORITHM = "ES256"
STAFF_ROLES = frozenset({"consultant", "vendor_admin"})
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "sub", "org", "roles", "email", "name", "lang")

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
    session_id: uuid.UUID | None = None

    @property
    def is_staff(self) -> bool:
        """Vendor staff see every organization; customers only their own."""
        return bool(self.roles & STAFF_ROLES)

    @property
    def org_scope(self) -> uuid.UUID | None:
        """The organization every read must be filtered by, or None for vendor staff."""
        return None if self.is_staff else self.org_id

    def claims(self) -> dict[str, Any]:
        """The identity claims of an access token for this principal (auth signs them)."""
        claims: dict[str, Any] = {
            "sub": str(self.user_id),
            "org": str(self.org_id),
            "roles": sorted(self.roles),
            "email": self.email,
            "name": self.display_name,
            "lang": self.language,
        }
        if self.session_id is not None:
            claims["sid"] = str(self.session_id)
        return claims


class KeySource(Protocol):
    """Public verification keys by key id."""

    async def key(self, kid: str) -> Any | None:
        """The public key with this id, or None if the source does not know it."""


class KeysUnavailableError(RuntimeError):
    """The key source could not be reached and has no keys cached."""


class JwksKeySource:
    """Keys from auth's JWKS endpoint, cached for `max_age_s`. A key id the cache does not hold
    makes it fetch again, at most once per `min_refresh_s` (a request that comes sooner waits
    for that moment rather than failing), so tokens with made-up key ids cannot flood auth. A
    key the cache holds is answered at once even when the cache is old: the refresh then runs
    beside the requests, which no longer all wait on it every `max_age_s` (a rotated-out key
    stays usable until that refresh ends, at most one fetch's time longer)."""

    def __init__(
        self,
        url: str,
        *,
        max_age_s: float = 300,
        min_refresh_s: float = 1,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url
        self._max_age_s = max_age_s
        self._min_refresh_s = min_refresh_s
        self._transport = transport
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        self._background: asyncio.Task[None] | None = None

    async def key(self, kid: str) -> Any | None:
        old = time.monotonic() - self._fetched_at > self._max_age_s
        if kid in self._keys:
            if old and (self._background is None or self._background.done()):
                self._background = asyncio.create_task(self._refresh_once(self._fetched_at))
            return self._keys[kid]
        await self._refresh_once(self._fetched_at)
        return self._keys.get(kid)

    async def _refresh_once(self, fetched_before: float) -> None:
        async with self._lock:
            if self._fetched_at != fetched_before:
                return  # somebody refreshed while this one waited
            wait = self._fetched_at + self._min_refresh_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self._refresh()

    async def _refresh(self) -> None:
        try:
            async with httpx.AsyncClient(
                timeout=5, verify=_tls_context(), transport=self._transport
            ) as client:
                response = await client.get(self._url)
                response.raise_for_status()
            self._keys = parse_jwks(response.json())
            log.info("verification keys fetched", key_ids=sorted(self._keys))
        except (httpx.HTTPError, ValueError, jwt.PyJWKError) as error:
            log.warning("verification keys unavailable", url=self._url, error=repr(error))
            if not self._keys:
                raise KeysUnavailableError(str(error)) from error
        finally:
            self._fetched_at = time.monotonic()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for the JWKS fetches: httpx builds a new one for every client, loading
    the CA bundle each time (~50 ms of CPU on the event loop, seen in a profile of POSTs)."""
    return httpx.create_ssl_context()


def parse_jwks(document: Mapping[str, Any]) -> dict[str, Any]:
    """Public keys by id from a JWKS document; keys of other algorithms are ignored."""
    keys: dict[str, Any] = {}
    for entry in document.get("keys", []):
        if entry.get("alg") != ALGORITHM or entry.get("use", "sig") != "sig" or "kid" not in entry:
            continue
        keys[str(entry["kid"])] = jwt.PyJWK.from_dict(dict(entry)).key
    return keys


class TokenRevokedError(jwt.InvalidTokenError):
    """auth ended the token's session, or revoked the user's tokens, after it was issued."""


@dataclass(frozen=True)
class TokenVerifier:
    """Checks access tokens: signature by a known key, algorithm, expiry, issuer, audience, and
    that auth has not revoked them since. Expiry and issue time are judged by the service's
    clock, not by PyJWT's own reading of the system time, so a controlled clock (docs/time.md)
    expires tokens too."""

    keys: KeySource
    issuer: str
    audience: str
    clock: Clock
    leeway_s: float = 30
    revocations: RevocationList = field(default_factory=RevocationList, compare=False)
    _verified: OrderedDict[str, tuple[str, Mapping[str, Any], Principal]] = field(
        default_factory=OrderedDict, repr=False, compare=False
    )
    """Tokens whose signature, issuer and audience were checked, with their key id and claims:
    a client sends one token with every request until it expires, and the ES256 check was the
    largest single cost of a request (docs/decisions.md). The lifetime, the key and the
    revocation list are checked on every use."""

    async def verify(self, token: str) -> Principal:
        """The principal of a valid token; raise `jwt.InvalidTokenError` otherwise (also
        `TokenRevokedError`), or `RevocationsOutdatedError` when the revocation list is too old
        to tell."""
        known = self._verified.get(token)
        if known is not None:
            kid, claims, principal = known
            if await self.keys.key(kid) is not None:
                check_lifetime(claims, now=self.clock.now().timestamp(), leeway_s=self.leeway_s)
                self._refuse_if_revoked(claims, principal)
                self._verified.move_to_end(token)
                return principal
            del self._verified[token]
        kid, claims, principal = await self._check(token)
        self._verified[token] = (kid, claims, principal)
        if len(self._verified) > VERIFIED_TOKENS_KEPT:
            self._verified.popitem(last=False)
        self._refuse_if_revoked(claims, principal)
        return principal

    def _refuse_if_revoked(self, claims: Mapping[str, Any], principal: Principal) -> None:
        reason = self.revocations.current().refusal(
            user_id=principal.user_id,
            session_id=principal.session_id,
            issued_at=float(claims["iat"]),  # a number: check_lifetime has read it
        )
        if reason is not None:
            raise TokenRevokedError(f"the token was revoked: {reason}")

    async def _check(self, token: str) -> tuple[str, Mapping[str, Any], Principal]:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise jwt.InvalidAlgorithmError(f"algorithm {header.get('alg')!r} is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise jwt.InvalidTokenError("the token names no key id")
        key = await self.keys.key(kid)
        if key is None:
            raise jwt.InvalidTokenError(f"unknown key id {kid!r}")
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=self.audience,
            issuer=self.issuer,
            options={
                "require": list(REQUIRED_CLAIMS),
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        check_lifetime(claims, now=self.clock.now().timestamp(), leeway_s=self.leeway_s)
        return kid, claims, principal_from_claims(claims)


VERIFIED_TOKENS_KEPT = 4096


def check_lifetime(claims: Mapping[str, Any], *, now: float, leeway_s: float) -> None:
    """Raise `jwt.InvalidTokenError` unless the token is in force at `now` (Unix seconds):
    issued (`iat`, `nbf`) no later than now and not yet expired (`exp`), within the leeway."""
    try:
        expires, issued = float(claims["exp"]), float(claims["iat"])
        not_before = float(claims.get("nbf", issued))
    except (KeyError, TypeError, ValueError) as error:
        raise jwt.InvalidTokenError(f"malformed time claims: {error}") from error
    if expires <= now - leeway_s:
        raise jwt.ExpiredSignatureError("the token has expired")
    if max(issued, not_before) > now + leeway_s:
        raise jwt.ImmatureSignatureError("the token is not yet valid")


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """Build the principal from verified claims; raise `jwt.InvalidTokenError` when malformed."""
    language = claims["lang"]
    roles = claims["roles"]
    if language not in ("sl", "en"):
        raise jwt.InvalidTokenError(f"unsupported language {language!r}")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise jwt.InvalidTokenError("roles must be a list of strings")
    try:
        return Principal(
            user_id=uuid.UUID(claims["sub"]),
            org_id=uuid.UUID(claims["org"]),
            roles=frozenset(roles),
            email=str(claims["email"]),
            display_name=str(claims["name"]),
            language=language,
            session_id=uuid.UUID(claims["sid"]) if claims.get("sid") else None,
        )
    except (KeyError, ValueError, TypeError) as error:
        raise jwt.InvalidTokenError(f"malformed claims: {error}") from error


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


async def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the verified caller, or 401."""
    verifier: TokenVerifier = request.app.state.token_verifier
    if credentials is None:
        raise _unauthorized("Sign in first.")
    try:
        principal = await verifier.verify(credentials.credentials)
    except (KeysUnavailableError, RevocationsOutdatedError) as error:
        log.warning("access token cannot be checked", reason=str(error))
        raise HTTPException(
            503,
            "Sign-in cannot be checked right now; try again shortly.",
            headers={"Retry-After": "5"},
        ) from None
    except jwt.InvalidTokenError as error:
        log.info("access token refused", reason=str(error))
        raise _unauthorized("The access token is invalid or expired.") from None
    structlog.contextvars.bind_contextvars(user_id=str(principal.user_id))
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str, detail: str = "You are not allowed to do this.") -> Any:
    """FastAPI dependency factory: the verified caller holding at least one of `roles`, or 403
    (before the request's body is read or judged)."""
    wanted = frozenset(roles)

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.roles & wanted:
            raise HTTPException(403, detail)
        return principal

    return Depends(dependency)


VendorAdmin = Annotated[
    Principal, require_roles("vendor_admin", detail="Only vendor administrators may do this.")
]
"""A route's caller who must be a vendor administrator."""
VendorStaff = Annotated[
    Principal, require_roles(*STAFF_ROLES, detail="Only vendor staff (consultants) may do this.")
]
"""A route's caller who must be vendor staff: a consultant or a vendor administrator."""
