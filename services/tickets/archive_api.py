"""HTTP routes of the old portal's tickets: the read-only archive of its resolved ones, and the
import that fills it (services/tickets/README.md, "Importing the old portal's tickets"). Its
router is included before the tickets' own, whose `/{ticket_id}` would take `/archive`."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter

from services.runtime.app import CurrentClock, Pool
from services.runtime.bodies import IMPORT_BODY
from services.runtime.identity import CurrentPrincipal, VendorAdmin
from services.runtime.paging import CursorPage, CursorParam, NoOffset, WithTotal, after_cursor
from services.tickets import archive_repository, importing
from services.tickets.api_models import ArchivedTicketOut, ImportOut, Limit, SearchText
from services.tickets.legacy_import import LegacyTicketFile

router = APIRouter(prefix="/api/tickets", tags=["tickets"])


@router.get("/archive", response_model=CursorPage[ArchivedTicketOut], dependencies=[NoOffset])
async def list_archive(
    principal: CurrentPrincipal,
    pool: Pool,
    *,
    q: SearchText = None,
    limit: Limit = 20,
    cursor: CursorParam = None,
    with_total: WithTotal = False,
) -> CursorPage[ArchivedTicketOut]:
    """The old portal's resolved tickets of the caller's organization, newest first;
    `q` searches subject, description, resolution, or an exact old number."""
    after = after_cursor(cursor, datetime, uuid.UUID)
    async with pool.acquire() as conn:
        entries, total = await archive_repository.list_archived(
            conn,
            org_id=principal.org_scope,
            text=q,
            limit=limit,
            after=after,
            with_total=with_total,
        )
    return CursorPage[ArchivedTicketOut].of(
        entries,
        limit=limit,
        item=ArchivedTicketOut.of,
        key=lambda a: (a.submitted_at, a.id),
        total=total,
    )


@router.get("/archive/{archived_id}", response_model=ArchivedTicketOut)
async def get_archived(
    archived_id: uuid.UUID, principal: CurrentPrincipal, pool: Pool
) -> ArchivedTicketOut:
    """One archived ticket with its correspondence (read-only)."""
    async with pool.acquire() as conn:
        entry = await archive_repository.get_archived(
            conn, archived_id=archived_id, org_id=principal.org_scope
        )
    return ArchivedTicketOut.of(entry)


@router.post("/import", response_model=ImportOut, openapi_extra=IMPORT_BODY)
async def import_legacy(
    document: LegacyTicketFile, principal: VendorAdmin, pool: Pool, clock: CurrentClock
) -> ImportOut:
    """Import the old portal's tickets (vendor admins); all or nothing, safe to repeat."""
    result = await importing.import_legacy_tickets(
        pool, principal=principal, document=document, now=clock.now()
    )
    return ImportOut(**result.__dict__)
