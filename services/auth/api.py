"""HTTP routes of the auth service."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field

from services.auth import repository
from services.auth.settings import AuthSettings
from services.runtime.app import Pool
from services.runtime.identity import CurrentPrincipal, Principal, issue_dev_token


class DevLoginBody(BaseModel):
    email: Annotated[str, Field(min_length=3, max_length=254)]


class UserOut(BaseModel):
    user_id: uuid.UUID
    org_id: uuid.UUID
    email: str
    display_name: str
    language: str
    roles: list[str]


class DevLoginOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    user: UserOut


def _out(p: Principal) -> UserOut:
    return UserOut(
        user_id=p.user_id,
        org_id=p.org_id,
        email=p.email,
        display_name=p.display_name,
        language=p.language,
        roles=sorted(p.roles),
    )


def build_router(settings: AuthSettings) -> APIRouter:
    router = APIRouter(prefix="/api/auth", tags=["auth"])

    @router.post("/dev/login", response_model=DevLoginOut)
    async def dev_login(body: DevLoginBody, pool: Pool, request: Request) -> DevLoginOut:
        """TEMPORARY, development only: sign in as a seeded user by e-mail, without a password."""
        secret = request.app.state.dev_identity_secret
        if secret is None:
            raise HTTPException(404, "Not Found")
        async with pool.acquire() as conn:
            user = await repository.find_user_by_email(conn, email=body.email)
        if user is None or not user.active:
            raise HTTPException(401, "Unknown or inactive user.")
        principal = Principal(
            user.id,
            user.org_id,
            frozenset(user.roles),
            user.email,
            user.display_name,
            user.language,
        )
        ttl = timedelta(minutes=settings.dev_token_ttl_minutes)
        token = issue_dev_token(principal, secret=secret, ttl=ttl)
        return DevLoginOut(
            access_token=token, expires_in=int(ttl.total_seconds()), user=_out(principal)
        )

    @router.get("/me", response_model=UserOut)
    async def me(principal: CurrentPrincipal) -> UserOut:
        """The signed-in user."""
        return _out(principal)

    return router
