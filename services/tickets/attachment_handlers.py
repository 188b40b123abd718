"""What the tickets service keeps of the files content announces: an upload a message of its
uploader may name, forgotten when it expires unnamed."""

from __future__ import annotations

from contracts.content import AttachmentExpired, AttachmentUploaded
from services.runtime.consumer import HandlerContext
from services.tickets import (
    attachment_repository,
)


async def on_attachment_uploaded(ctx: HandlerContext, event: AttachmentUploaded) -> None:
    """Remember the upload, so a message of its uploader may name it."""
    await attachment_repository.record_uploaded(ctx.conn, uploaded=event)


async def on_attachment_expired(ctx: HandlerContext, event: AttachmentExpired) -> None:
    """No message named it in time and its file is gone: forget it."""
    await attachment_repository.forget(ctx.conn, attachment_id=event.attachment_id)
