"""HTTP routes of administration: organizations, users, invitations, the legacy import."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field

from contracts.accounts import Role
from contracts.common import EMAIL_PATTERN, Language
from services.auth.admin import ConflictError, ImportResult, NotFoundError
from services.auth.context import AuthContext
from services.auth.domain import AccountError, ForbiddenError, Organization, User
from services.auth.legacy_import import LegacyFileError, parse_legacy_users
from services.runtime.bodies import IMPORT_BODY
from services.runtime.identity import CurrentPrincipal, VendorAdmin
from services.runtime.paging import CursorPage, CursorParam, NoOffset, WithTotal, after_cursor
from services.runtime.problems import DomainErrors, ProblemError, problems, refusals

T = TypeVar("T")

Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\r\n]*\S[^\r\n]*$")]


class UserOut(BaseModel):
    user_id: uuid.UUID
    org_id: uuid.UUID
    email: str
    display_name: str
    language: str
    roles: list[str]
    active: bool
    has_password: bool


def user_out(user: User) -> UserOut:
    return UserOut.model_validate({**vars(user), "user_id": user.id, "roles": sorted(user.roles)})


class OrganizationOut(BaseModel):
    org_id: uuid.UUID
    name: str
    kind: str


def organization_out(org: Organization) -> OrganizationOut:
    return OrganizationOut(org_id=org.id, name=org.name, kind=org.kind)


class OrganizationIn(BaseModel):
    name: Name


class UserIn(BaseModel):
    org_id: uuid.UUID | None = Field(default=None, description="default: the caller's own")
    email: Annotated[str, Field(pattern=EMAIL_PATTERN, max_length=254)]
    display_name: Name
    language: Language = "sl"
    roles: Annotated[list[Role], Field(min_length=1, max_length=4)] = ["customer"]
    invite: bool = Field(default=True, description="e-mail a first-login link")


class UserChanges(BaseModel):
    display_name: Name | None = None
    language: Language | None = None
    roles: Annotated[list[Role], Field(min_length=1, max_length=4)] | None = None
    active: bool | None = None

    def changes(self) -> dict[str, Any]:
        values = self.model_dump(exclude_none=True)
        if "roles" in values:
            values["roles"] = frozenset(values["roles"])
        return values


class ImportOut(BaseModel):
    organizations_created: int
    users_created: int
    users_unchanged: int
    invitations_sent: int


Limit = Annotated[int, Query(ge=1, le=200)]


DOMAIN_ERRORS: DomainErrors = {
    NotFoundError: 404,
    ForbiddenError: 403,
    ConflictError: 409,
    AccountError: 422,
}
"""The account rules' refusals and the problems they are answered with (services/runtime/
problems.py); the routes let them out."""


def build_admin_router(ctx: AuthContext) -> APIRouter:
    router = APIRouter(prefix="/api/auth", tags=["administration"])

    @router.patch("/me", response_model=UserOut)
    async def change_me(body: UserChanges, principal: CurrentPrincipal) -> UserOut:
        """Change your own display name or language."""
        changes = body.changes()
        if not changes or not set(changes) <= {"display_name", "language"}:
            raise HTTPException(422, "You can change your display_name and language here.")
        user = await ctx.administration.update_user(principal, principal.user_id, changes)
        return user_out(user)

    @router.post("/keys/rotate", status_code=201)
    async def rotate_signing_key(principal: VendorAdmin) -> dict[str, str]:
        """Sign new access tokens with a new key (vendor admins). The old key stays published
        until the tokens it signed have expired; other services fetch the new one on first
        sight, so nobody is signed out."""
        return {"kid": await ctx.key_store.rotate()}

    @router.get(
        "/organizations", response_model=CursorPage[OrganizationOut], dependencies=[NoOffset]
    )
    async def list_organizations(
        principal: CurrentPrincipal,
        limit: Limit = 50,
        cursor: CursorParam = None,
        with_total: WithTotal = False,
    ) -> CursorPage[OrganizationOut]:
        """Organizations, by name (customer admins: their own). The next page is asked with
        `cursor` = the previous page's `next_cursor`."""
        after = after_cursor(cursor, str, uuid.UUID)
        orgs, total = await ctx.administration.list_organizations(
            principal,
            limit=limit,
            after=after,
            with_total=with_total,
        )
        return CursorPage[OrganizationOut].of(
            orgs,
            limit=limit,
            item=organization_out,
            key=lambda o: (o.name.lower(), o.id),
            total=total,
        )

    @router.post("/organizations", status_code=201, response_model=OrganizationOut)
    async def create_organization(
        body: OrganizationIn, principal: CurrentPrincipal
    ) -> OrganizationOut:
        """Create a customer organization (vendor admins)."""
        org = await ctx.administration.create_organization(principal, name=body.name.strip())
        return organization_out(org)

    @router.get("/organizations/{org_id}", response_model=OrganizationOut)
    async def get_organization(org_id: uuid.UUID, principal: CurrentPrincipal) -> OrganizationOut:
        return organization_out(await ctx.administration.get_organization(principal, org_id))

    @router.get("/users", response_model=CursorPage[UserOut], dependencies=[NoOffset])
    async def list_users(
        principal: CurrentPrincipal,
        org_id: uuid.UUID | None = None,
        limit: Limit = 50,
        cursor: CursorParam = None,
        with_total: WithTotal = False,
    ) -> CursorPage[UserOut]:
        """Users by e-mail: of one organization, or all (vendor admins); customer admins see
        their own organization's only. The next page is asked with `cursor` = the previous
        page's `next_cursor`."""
        after = after_cursor(cursor, str)
        users, total = await ctx.administration.list_users(
            principal,
            org_id=org_id,
            limit=limit,
            after=after[0] if after else None,
            with_total=with_total,
        )
        return CursorPage[UserOut].of(
            users, limit=limit, item=user_out, key=lambda u: (u.email,), total=total
        )

    @router.post("/users", status_code=201, response_model=UserOut)
    async def create_user(body: UserIn, principal: CurrentPrincipal) -> UserOut:
        """Create a user without a password; with `invite`, e-mail them a first-login link."""
        user = await ctx.administration.create_user(
            principal,
            org_id=body.org_id or principal.org_id,
            email=body.email,
            display_name=body.display_name.strip(),
            language=body.language,
            roles=frozenset(body.roles),
            invite=body.invite,
        )
        return user_out(user)

    @router.get("/users/{user_id}", response_model=UserOut)
    async def get_user(user_id: uuid.UUID, principal: CurrentPrincipal) -> UserOut:
        return user_out(await ctx.administration.get_user(principal, user_id))

    @router.patch("/users/{user_id}", response_model=UserOut)
    async def update_user(
        user_id: uuid.UUID, body: UserChanges, principal: CurrentPrincipal
    ) -> UserOut:
        """Change a user's name, language, roles, or deactivate (ends their sessions) and
        reactivate them. A deactivation or new roles make every service refuse the user's
        earlier access tokens within seconds; with new roles, a refresh signs a new one."""
        changes = body.changes()
        if not changes:
            raise HTTPException(422, "Nothing to change.")
        return user_out(await ctx.administration.update_user(principal, user_id, changes))

    @router.post("/users/{user_id}/invitation", status_code=202)
    async def invite(user_id: uuid.UUID, principal: CurrentPrincipal) -> dict[str, str]:
        """E-mail a user without a password a new first-login link."""
        await ctx.administration.invite(principal, user_id)
        return {"detail": "Invitation sent."}

    @router.post(
        "/users/import",
        response_model=ImportOut,
        responses=problems(415),
        openapi_extra={
            "requestBody": {
                "content": {"text/csv": {"schema": {"type": "string"}}},
                "required": True,
            },
            **IMPORT_BODY,
        },
    )
    async def import_users(
        request: Request, principal: VendorAdmin, invite: bool = True
    ) -> ImportOut:
        """Import the legacy portal's users from CSV (`organization,email,name,language`):
        missing organizations and users are created (without passwords; with `invite`, each new
        user gets a first-login link). All or nothing; safe to run again."""
        if "csv" not in request.headers.get("content-type", ""):
            raise HTTPException(415, "Send the file as text/csv.")
        raw = await request.body()  # at most IMPORT_BODY_MAX_BYTES (services/runtime/bodies.py)
        try:
            rows = parse_legacy_users(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise HTTPException(422, "The file is not UTF-8 text.") from None
        except LegacyFileError as error:
            raise ProblemError(
                422,
                f"The file has {len(error.problems)} problem(s); `errors` lists each.",
                errors=refusals(error.problems, rule="invalid_row"),
            ) from None
        result: ImportResult = await ctx.administration.import_legacy_users(
            principal, rows, invite=invite
        )
        return ImportOut(**result.__dict__)

    return router
