"""HTTP routes of the auth service: sign-in, sessions, password links, the JWKS, `me`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Cookie, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, model_validator

from contracts.common import EMAIL_PATTERN
from services.auth.accounts import (
    Client,
    LoginRefusedError,
    PasswordLinkError,
    RefreshRefusedError,
    SignedIn,
    ThrottledError,
)
from services.auth.admin_api import UserOut, user_out
from services.auth.context import AuthContext
from services.auth.domain import AccountError
from services.auth.passwords import MAX_LENGTH, PasswordRuleError
from services.runtime.identity import CurrentPrincipal
from services.runtime.problems import problems

REFRESH_COOKIE = "refresh_token"
REFRESH_COOKIE_PATH = "/api/auth"

Email = Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=254)]
Password = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]
OpaqueToken = Annotated[str, Field(min_length=16, max_length=200)]


IN_BODY_DESCRIPTION = (
    "Return the refresh token in the answer too, for a client that is not a browser and keeps "
    "it itself (an app, a script). A browser leaves this out: it gets the token only as the "
    "HttpOnly cookie, out of reach of the page's script."
)


class LoginIn(BaseModel):
    email: Email
    password: Password
    stay_signed_in: bool = False
    refresh_token_in_body: bool = Field(default=False, description=IN_BODY_DESCRIPTION)


class TokensOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth token type
    expires_in: int = Field(description="seconds the access token is valid")
    refresh_token: str | None = Field(
        default=None,
        description="only when asked for (`refresh_token_in_body`); always set as an HttpOnly "
        "cookie on /api/auth",
    )
    refresh_expires_at: datetime
    stay_signed_in: bool
    user: UserOut


class RefreshIn(BaseModel):
    refresh_token: OpaqueToken | None = Field(
        default=None, description="the refresh token; without it, the cookie's is used"
    )
    refresh_token_in_body: bool = Field(
        default=False, description=IN_BODY_DESCRIPTION + " Only with `refresh_token` sent here."
    )

    @model_validator(mode="after")
    def _token_in_body_only_for_its_holder(self) -> RefreshIn:
        # A script on the portal page can make the browser send the cookie, but cannot read
        # it; answering the cookie's successor in the body would hand it over.
        if self.refresh_token_in_body and self.refresh_token is None:
            raise ValueError(
                "refresh_token_in_body is only for a client that sends refresh_token itself; "
                "a browser keeps the token in its cookie"
            )
        return self


class LogoutIn(BaseModel):
    refresh_token: OpaqueToken | None = Field(
        default=None, description="the refresh token; without it, the cookie's is used"
    )


class ForgotIn(BaseModel):
    email: Email


class ResetIn(BaseModel):
    token: OpaqueToken
    password: Password
    password_repeated: Password


class MessageOut(BaseModel):
    detail: str


FORGOT_ANSWER = (
    "If an account exists for this e-mail address, we have sent it a link to set a new password. "
    "The link works once, within an hour."
)
LOGIN_REFUSED = "The e-mail address or the password is not correct."


def _client(request: Request) -> Client:
    return Client(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def tokens_response(signed: SignedIn, *, token_in_body: bool, secure: bool) -> JSONResponse:
    """The tokens; the refresh token in the HttpOnly cookie, and in the body only when the
    client asked for it (services/auth/README.md, "Sessions")."""
    body = TokensOut(
        access_token=signed.access_token,
        expires_in=signed.access_expires_in,
        refresh_token=signed.refresh_token if token_in_body else None,
        refresh_expires_at=signed.refresh_expires_at,
        stay_signed_in=signed.persistent,
        user=user_out(signed.user),
    )
    content = body.model_dump(mode="json", exclude=None if token_in_body else {"refresh_token"})
    response = JSONResponse(content, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        REFRESH_COOKIE,
        signed.refresh_token,
        # Without "stay signed in" the cookie ends with the browser session.
        expires=signed.refresh_expires_at if signed.persistent else None,
        path=REFRESH_COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    return response


def build_router(ctx: AuthContext) -> APIRouter:
    router = APIRouter(prefix="/api/auth", tags=["auth"])

    @router.post(
        "/login",
        response_model=TokensOut,
        responses=problems(401, 429),
    )
    async def login(body: LoginIn, request: Request) -> JSONResponse:
        """Sign in with e-mail and password; `stay_signed_in` gives a 30-day session. The
        refresh token comes as an HttpOnly cookie, in the body too only with
        `refresh_token_in_body`."""
        try:
            signed = await ctx.accounts.login(
                email=body.email,
                password=body.password,
                stay_signed_in=body.stay_signed_in,
                client=_client(request),
            )
        except LoginRefusedError:
            raise HTTPException(401, LOGIN_REFUSED) from None
        except ThrottledError as error:
            raise HTTPException(
                429,
                "Too many failed sign-ins. Wait a little and try again, or set a new password "
                "with 'Forgot password'.",
                headers={"Retry-After": str(error.retry_after_s)},
            ) from None
        return tokens_response(
            signed, token_in_body=body.refresh_token_in_body, secure=ctx.settings.cookie_secure
        )

    @router.post("/refresh", response_model=TokensOut, responses=problems(401))
    async def refresh(
        request: Request,
        body: RefreshIn | None = None,
        refresh_token: Annotated[str | None, Cookie()] = None,
    ) -> JSONResponse:
        """New access and refresh tokens for a refresh token (body or cookie); the old one is
        spent, and presenting it again ends the whole session. The new refresh token is set
        as the cookie, and returned in the body only to a client that sent its token in the
        body and asked (`refresh_token_in_body`)."""
        token = (body.refresh_token if body else None) or refresh_token
        try:
            if not token:
                raise RefreshRefusedError
            signed = await ctx.accounts.refresh(refresh_token=token)
        except RefreshRefusedError:
            raise HTTPException(401, "The session has ended; sign in again.") from None
        in_body = body is not None and body.refresh_token_in_body
        return tokens_response(signed, token_in_body=in_body, secure=ctx.settings.cookie_secure)

    @router.post("/logout", status_code=204)
    async def logout(
        body: LogoutIn | None = None,
        refresh_token: Annotated[str | None, Cookie()] = None,
    ) -> Response:
        """End the session of the refresh token (body or cookie), and with it the access
        tokens it gave: every service refuses them within seconds."""
        token = (body.refresh_token if body else None) or refresh_token
        if token:
            await ctx.accounts.logout(refresh_token=token)
        response = Response(status_code=204)
        response.delete_cookie(REFRESH_COOKIE, path=REFRESH_COOKIE_PATH)
        return response

    @router.post("/password/forgot", status_code=202, response_model=MessageOut)
    async def forgot_password(body: ForgotIn, request: Request) -> MessageOut:
        """Ask for a link to set a new password (also the first login of a new account). The
        answer is the same whether or not the address has an account."""
        await ctx.accounts.request_reset(email=body.email, client=_client(request))
        return MessageOut(detail=FORGOT_ANSWER)

    @router.post(
        "/password/reset",
        response_model=MessageOut,
        responses={
            400: {"description": "The link is unknown, expired or used; or the body is not JSON."},
            **problems(422),
        },
    )
    async def reset_password(body: ResetIn) -> MessageOut:
        """Set a new password with the link's token, typed twice. Ends every session of the
        user; sign in afterwards."""
        try:
            await ctx.accounts.complete_reset(
                token=body.token, password=body.password, repeated=body.password_repeated
            )
        except PasswordRuleError as error:
            raise HTTPException(422, str(error)) from None
        except PasswordLinkError:
            raise HTTPException(
                400, "This link has expired or was already used. Ask for a new one."
            ) from None
        return MessageOut(detail="Your password is set. Sign in with the new password.")

    @router.get("/.well-known/jwks.json")
    async def jwks() -> JSONResponse:
        """The public keys that verify access tokens (cache for up to five minutes)."""
        return JSONResponse(
            await ctx.key_store.jwks(), headers={"Cache-Control": "public, max-age=300"}
        )

    @router.get("/me", response_model=UserOut)
    async def me(principal: CurrentPrincipal) -> UserOut:
        """The signed-in user, as stored now."""
        try:
            user = await ctx.administration.get_self(principal)
        except AccountError:
            raise HTTPException(401, "The account no longer exists.") from None
        return user_out(user)

    return router
