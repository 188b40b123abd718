"""Use cases of attachments: announcing an upload, learning the tickets and their messages from
the tickets service, and sweeping attachments no message named (services/content/README.md,
"Attachments")."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import structlog
from obstore.store import ObjectStore

from contracts.content import AttachmentExpired, AttachmentUploaded
from contracts.tickets import TicketAttachmentsImported, TicketCreated, TicketMessagePosted
from services.content import attachment_repository as repo
from services.content import attachments, storage
from services.content.attachment_repository import TicketOwner
from services.content.repository import StoredFile
from services.content.uploads import OnStored
from services.runtime import outbox
from services.runtime.clock import Clock
from services.runtime.consumer import HandlerContext
from services.runtime.db import Connection

log = structlog.get_logger(__name__)

SOURCE = "content"
SWEEP_CORRELATION_ID = "sweep-unbound-attachments"


def announcer(owner: TicketOwner, by: uuid.UUID) -> OnStored:
    """What an attachment's upload does once its file is complete, in the same transaction:
    `AttachmentUploaded`, so the tickets service lets a message of its uploader name it."""

    async def announce(conn: Connection, stored: StoredFile) -> None:
        assert stored.size is not None and stored.sha256 and stored.stored_at is not None
        await outbox.emit(
            conn,
            AttachmentUploaded(
                attachment_id=stored.id,
                ticket_id=owner.ticket_id,
                org_id=owner.org_id,
                uploaded_by=by,
                name=stored.name,
                media_type=stored.media_type,
                size=stored.size,
                sha256=stored.sha256,
                uploaded_at=stored.stored_at,
            ),
            source=SOURCE,
            aggregate_id=stored.id,
            aggregate_version=1,
            org_id=owner.org_id,
            occurred_at=stored.stored_at,
        )

    return announce


async def on_ticket_created(ctx: HandlerContext, event: TicketCreated) -> None:
    """Remember the ticket's organization: its users may attach files to it from now."""
    await repo.record_ticket(
        ctx.conn, ticket_id=event.ticket_id, org_id=event.org_id, archived=False, at=ctx.clock.now()
    )


async def on_message_posted(ctx: HandlerContext, event: TicketMessagePosted) -> None:
    """Attach the files the message names to it, as internal as the message."""
    if not event.attachment_ids:
        return
    found = await repo.lock_attachments(ctx.conn, event.attachment_ids)
    binding = attachments.for_message(
        found,
        event.attachment_ids,
        ticket_id=event.ticket_id,
        author_id=event.author.user_id,
        message_id=event.message_id,
    )
    await repo.bind(
        ctx.conn,
        binding.to_bind,
        ticket_id=event.ticket_id,
        org_id=event.org_id,
        internal=event.internal,
        at=ctx.clock.now(),
    )
    _log_binding(binding, event.ticket_id)


async def on_attachments_imported(ctx: HandlerContext, event: TicketAttachmentsImported) -> None:
    """Attach the old portal's files, uploaded for the import, to the imported ticket."""
    await repo.record_ticket(
        ctx.conn,
        ticket_id=event.ticket_id,
        org_id=event.org_id,
        archived=event.archived,
        at=ctx.clock.now(),
    )
    requested = [(a.attachment_id, a.message_id) for a in event.attachments]
    found = await repo.lock_attachments(ctx.conn, [a for a, _ in requested])
    binding = attachments.for_import(
        found, requested, ticket_id=event.ticket_id, imported_by=event.imported_by
    )
    await repo.bind(
        ctx.conn,
        binding.to_bind,
        ticket_id=event.ticket_id,
        org_id=event.org_id,
        internal=False,
        at=ctx.clock.now(),
    )
    _log_binding(binding, event.ticket_id)


def _log_binding(binding: attachments.Binding, ticket_id: object) -> None:
    if binding.expired:
        log.warning(
            "attachments expired before their message arrived; not attached",
            ticket_id=str(ticket_id),
            attachment_ids=[str(a) for a in binding.expired],
        )
    log.debug("attachments bound", ticket_id=str(ticket_id), count=len(binding.to_bind))


async def sweep_unbound(
    pool: asyncpg.Pool, store: ObjectStore, *, clock: Clock, unbound_after_s: float, batch: int
) -> int:
    """Delete attachments no message named within `unbound_after_s` of their upload: bytes,
    then the state `expired` with `AttachmentExpired`, one attachment per transaction (a
    message naming it meanwhile waits on the lock and then finds it expired)."""
    now = clock.now()
    swept = 0
    for _ in range(batch):
        async with pool.acquire() as conn, conn.transaction():
            due = await repo.lock_unbound(
                conn, stored_before=now - timedelta(seconds=unbound_after_s), limit=1
            )
            if not due:
                break
            file, attachment = due[0]
            await storage.delete(store, file.storage_key)
            await repo.expire(conn, file.id)
            await outbox.emit(
                conn,
                AttachmentExpired(
                    attachment_id=file.id,
                    ticket_id=attachment.ticket_id,
                    org_id=attachment.org_id,
                    expired_at=now,
                ),
                source=SOURCE,
                aggregate_id=file.id,
                aggregate_version=2,
                org_id=attachment.org_id,
                correlation_id=SWEEP_CORRELATION_ID,
                occurred_at=now,
            )
        swept += 1
        log.info("unused attachment expired", attachment_id=str(file.id))
    return swept
