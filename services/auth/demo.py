"""The demo organization and users `ticketing dev` seeds (idempotent)."""

from __future__ import annotations

import uuid

import asyncpg

from services.auth import repository
from services.auth.domain import Organization, User

_NS = uuid.UUID("5b0c2f0e-7a51-4d0c-9d55-1c1f0b9e2a10")

VENDOR = Organization(uuid.uuid5(_NS, "org:vendor"), "Podpora (ponudnik)", "vendor")
DEMO_ORG = Organization(uuid.uuid5(_NS, "org:demo"), "Demo d.o.o.", "customer")
CUSTOMER = User(
    uuid.uuid5(_NS, "user:ana"),
    DEMO_ORG.id,
    "ana.novak@demo.example",
    "Ana Novak",
    "sl",
    frozenset({"customer"}),
    True,
)
CONSULTANT = User(
    uuid.uuid5(_NS, "user:consultant"),
    VENDOR.id,
    "svetovalec@podpora.example",
    "Marko Svetovalec",
    "sl",
    frozenset({"consultant"}),
    True,
)


async def seed_demo(pool: asyncpg.Pool) -> None:
    """Create the demo organization, one customer user and one consultant, if missing."""
    async with pool.acquire() as conn, conn.transaction():
        for org in (VENDOR, DEMO_ORG):
            await repository.ensure_organization(conn, org=org)
        for user in (CUSTOMER, CONSULTANT):
            await repository.ensure_user(conn, user=user)
