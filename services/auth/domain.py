"""Organizations and users as the auth service knows them, and who may manage whom. Pure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from contracts.accounts import OrganizationKind, Role

Language = Literal["sl", "en"]

ROLES_BY_KIND: dict[str, frozenset[str]] = {
    "customer": frozenset({"customer", "customer_admin"}),
    "vendor": frozenset({"consultant", "vendor_admin"}),
}


@dataclass(frozen=True)
class Organization:
    id: uuid.UUID
    name: str
    kind: OrganizationKind


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    org_id: uuid.UUID
    email: str
    display_name: str
    language: Language
    roles: frozenset[Role]
    active: bool
    has_password: bool = False
    version: int = 1


class AccountError(ValueError):
    """A request that breaks a rule; the message is for the caller."""


class ForbiddenError(AccountError):
    """The caller may not do this."""


def normalize_email(email: str) -> str:
    """E-mail addresses are user names, compared case-insensitively."""
    return email.strip().lower()


def check_roles(kind: str, roles: frozenset[str]) -> None:
    """Customers' people hold customer roles, the vendor's people vendor roles; at least one."""
    allowed = ROLES_BY_KIND[kind]
    if not roles:
        raise AccountError("A user needs at least one role.")
    if not roles <= allowed:
        wrong = ", ".join(sorted(roles - allowed))
        raise AccountError(f"Roles not possible in a {kind} organization: {wrong}.")


def is_vendor_admin(roles: frozenset[str]) -> bool:
    return "vendor_admin" in roles


def can_manage_users_of(actor_roles: frozenset[str], actor_org: uuid.UUID, org: uuid.UUID) -> bool:
    """Vendor admins manage every organization's users; customer admins their own only."""
    return is_vendor_admin(actor_roles) or ("customer_admin" in actor_roles and actor_org == org)


def admin_org_scope(actor_roles: frozenset[str], actor_org: uuid.UUID) -> uuid.UUID | None:
    """The organization an administrator's reads are limited to (None: all)."""
    return None if is_vendor_admin(actor_roles) else actor_org
