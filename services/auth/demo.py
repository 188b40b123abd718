"""The demo organization and users `ticketing dev` seeds (idempotent)."""

from __future__ import annotations

import uuid

import asyncpg
import structlog

from services.auth import announcements, repository
from services.auth.context import AuthContext
from services.auth.domain import Organization, User

log = structlog.get_logger(__name__)

_NS = uuid.UUID("5b0c2f0e-7a51-4d0c-9d55-1c1f0b9e2a10")

VENDOR = Organization(uuid.uuid5(_NS, "org:vendor"), "Podpora (ponudnik)", "vendor")
DEMO_ORG = Organization(uuid.uuid5(_NS, "org:demo"), "Demo d.o.o.", "customer")
CUSTOMER = User(
    uuid.uuid5(_NS, "user:ana"),
    DEMO_ORG.id,
    "ana.novak@demo.example",
    "Ana Novak",
    "sl",
    frozenset({"customer", "customer_admin"}),
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
VENDOR_ADMIN = User(
    uuid.uuid5(_NS, "user:admin"),
    VENDOR.id,
    "admin@podpora.example",
    "Vesna Skrbnik",
    "sl",
    frozenset({"vendor_admin", "consultant"}),
    True,
)
DEMO_USERS = (CUSTOMER, CONSULTANT, VENDOR_ADMIN)


async def seed_demo(pool: asyncpg.Pool, ctx: AuthContext) -> None:
    """Create the demo organizations and users if missing, with the configured demo password
    (without one they have no password, and the first login is a password reset), and announce
    them like any other new organization or user, so the other services know them."""
    secret = ctx.settings.demo_password
    password_hash = await ctx.passwords.hash(secret.get_secret_value()) if secret else None
    async with pool.acquire() as conn, conn.transaction():
        for org in (VENDOR, DEMO_ORG):
            if await repository.insert_organization(conn, org=org):
                await announcements.organization_created(conn, org, now=ctx.clock.now())
        for user in DEMO_USERS:
            if await repository.insert_user(conn, user=user, password_hash=password_hash):
                await announcements.user_created(conn, user, now=ctx.clock.now())
    log.info("demo organization and users present", with_password=secret is not None)
