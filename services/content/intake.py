"""An upload on its way in: checked, counted and hashed as it streams (pure, no I/O).

The first `SNIFF_BYTES` are held back until they have been checked against the file's type, so
a file whose bytes are not what its name says is refused before anything is stored; after that
every chunk is passed on as it arrives. The size limit is enforced on the bytes themselves, not
on a Content-Length the client may not send.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

from services.content.filetypes import SNIFF_BYTES, FileType, check_bytes


class TooLargeError(ValueError):
    """The upload is larger than its kind allows."""


class Intake:
    def __init__(self, file_type: FileType, *, max_bytes: int) -> None:
        self.file_type = file_type
        self.max_bytes = max_bytes
        self.size = 0
        self._hash = hashlib.sha256()

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    async def checked(self, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The body's chunks, once its start has passed the type check; raises
        `TooLargeError` or `UnsupportedTypeError` (which aborts the store's write)."""
        head: bytearray | None = bytearray()
        async for chunk in body:
            if not chunk:
                continue
            self._take(chunk)
            if head is None:
                yield chunk
                continue
            head += chunk
            if len(head) >= SNIFF_BYTES:
                check_bytes(self.file_type, bytes(head[:SNIFF_BYTES]), complete=False)
                yield bytes(head)
                head = None
        if head is not None:
            check_bytes(self.file_type, bytes(head), complete=True)
            yield bytes(head)

    def _take(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            raise TooLargeError(f"The file is larger than {self.max_bytes:,} bytes.")
        self._hash.update(chunk)
