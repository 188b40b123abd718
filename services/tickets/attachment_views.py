"""How the tickets API shows a message's files (their bytes are downloaded from content)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field

from services.tickets.archive import ArchivedFile
from services.tickets.attachments import Attachment

DOWNLOAD_PATH = "/api/content/attachments/{id}"
"""The content service's download route (services/content/README.md, "Attachments")."""


class AttachmentOut(BaseModel):
    id: uuid.UUID
    name: str
    media_type: str
    size: int
    url: str = Field(description="Where to download it (the content service).")

    @classmethod
    def of(cls, file: Attachment | ArchivedFile) -> AttachmentOut:
        return cls(
            id=file.id,
            name=file.name,
            media_type=file.media_type,
            size=file.size,
            url=DOWNLOAD_PATH.format(id=file.id),
        )
