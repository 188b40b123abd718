"""Organizations and users as the auth service knows them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

Role = Literal["customer", "customer_admin", "consultant", "vendor_admin"]


@dataclass(frozen=True)
class Organization:
    id: uuid.UUID
    name: str
    kind: Literal["customer", "vendor"]


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    org_id: uuid.UUID
    email: str
    display_name: str
    language: Literal["sl", "en"]
    roles: frozenset[Role]
    active: bool


def normalize_email(email: str) -> str:
    """E-mail addresses are user names, compared case-insensitively."""
    return email.strip().lower()
