"""HTTP routes of attachments: a file uploaded to a ticket (then named by a message on the
tickets service), a file of the old portal uploaded for the import, and the downloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from services.content import attachment_handlers, receiving
from services.content import attachment_repository as repo
from services.content.attachment_repository import TicketOwner
from services.content.receiving import IncomingFile, upload_route
from services.content.repository import NotFoundError
from services.content.serving import Download, download_route
from services.content.views import PREFIX
from services.runtime.identity import CurrentPrincipal, Principal, VendorAdmin

router = APIRouter(prefix=PREFIX, tags=["attachments"])


class AttachmentOut(BaseModel):
    id: uuid.UUID = Field(description="Name it in `attachment_ids` of a message on the ticket.")
    ticket_id: uuid.UUID | None = Field(description="None: uploaded for the old portal's import.")
    name: str
    media_type: str
    size: int
    sha256: str
    url: str = Field(description="Where to download it.")
    state: Literal["pending"] = Field(description="Until a message names it.")
    uploaded_at: datetime


ATTACHMENT_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such ticket, or not one of the caller's organization."},
    413: {"description": "Larger than `CONTENT_ATTACHMENT_MAX_BYTES`."},
    415: {"description": "Not on the attachments' allow-list, or the bytes are not of that type."},
    422: {"description": "A name that is a path, or a SHA-256 that does not match."},
}


def _may_see(principal: Principal, ticket: repo.KnownTicket) -> bool:
    """Vendor staff see every ticket; a customer those of their organization."""
    return principal.org_scope is None or principal.org_scope == ticket.org_id


async def _receive(
    incoming: receiving.Incoming, owner: TicketOwner, principal: Principal
) -> AttachmentOut:
    """Receive the attachment; once its file is complete it announces itself
    (`AttachmentUploaded`) in the same transaction."""
    file = await receiving.receive(
        incoming,
        "attachment",
        owner,
        principal=principal,
        on_stored=attachment_handlers.announcer(owner, principal.user_id),
    )
    return AttachmentOut(
        **vars(file),
        ticket_id=owner.ticket_id,
        url=f"{PREFIX}/attachments/{file.id}",
        state="pending",
        uploaded_at=file.stored_at,
    )


@upload_route(
    router,
    "/tickets/{ticket_id}/attachments",
    response_model=AttachmentOut,
    responses=ATTACHMENT_UPLOAD_ERRORS,
)
async def upload_attachment(
    ticket_id: uuid.UUID, incoming: IncomingFile, *, principal: CurrentPrincipal
) -> AttachmentOut:
    """Attach a file to a ticket the caller may see: the body is the file (`?name=napaka.png`).
    It is pending until a message of the caller names it (`attachment_ids`), and is deleted if
    none does within `CONTENT_ATTACHMENT_UNBOUND_AFTER_S`."""
    ticket = await repo.wait_for_ticket(
        incoming.pool, ticket_id, wait_s=incoming.settings.ticket_wait_s
    )
    if ticket is None or ticket.archived or not _may_see(principal, ticket):
        raise NotFoundError("ticket")
    return await _receive(incoming, TicketOwner(ticket.ticket_id, ticket.org_id), principal)


@upload_route(
    router, "/attachments/imports", response_model=AttachmentOut, responses=ATTACHMENT_UPLOAD_ERRORS
)
async def upload_for_import(incoming: IncomingFile, *, principal: VendorAdmin) -> AttachmentOut:
    """A file of the old portal's export, uploaded before the import whose messages name it by
    name and SHA-256 (services/tickets/README.md, "Importing the old portal's tickets")."""
    return await _receive(incoming, TicketOwner(None, None), principal)


@download_route(router, "/attachments/{attachment_id}", operation_id="download_attachment")
async def download_attachment(attachment_id: uuid.UUID, download: Download) -> Response:
    """An attachment the caller may see: their own upload; once on a message, vendor staff,
    and the users of the ticket's organization unless the message is an internal note. Every
    GET is recorded; ranges as for files."""
    caller = download.principal
    return await download.of(
        lambda conn: repo.visible_attachment(
            conn, attachment_id, user_id=caller.user_id, org_scope=caller.org_scope
        )
    )
