"""Which files each kind of content takes, and whether an upload's bytes are what its name says.

Pure logic, no I/O. The type of a file is the one its name's extension gives on the kind's
allow-list; the first bytes must then be of that type, recognized by puremagic (magic numbers),
or, for text types, be UTF-8 without NUL characters. A client's Content-Type header is never what
a download is served as (services/content/README.md, "Files").
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass
from typing import Literal

import puremagic

Kind = Literal["release", "recording", "attachment"]

SNIFF_BYTES = 8192
"""How much of the start of an upload is read before it is checked (and before any is stored)."""

NAME_MAX_LENGTH = 200


@dataclass(frozen=True)
class FileType:
    extension: str
    media_type: str
    text: bool = False
    """Checked as UTF-8 text (there is no magic number to recognize)."""
    inline: bool = False
    """Shown in the browser (a video) rather than saved as a download."""
    container: str | None = None
    """The extension puremagic gives the bytes when the type is a kind of it (an Office
    document is a ZIP archive; the first bytes tell no more)."""
    declared_as: tuple[str, ...] = ()
    """Other Content-Type headers browsers send for it (Windows sends a ZIP as
    `application/x-zip-compressed`, a CSV as `application/vnd.ms-excel`)."""

    def accepts_declared(self, declared: str) -> bool:
        """Whether an upload's Content-Type (without parameters) fits this type."""
        own = self.media_type.split(";")[0]
        return declared in {"", "application/octet-stream", own, *self.declared_as}


_TYPES = {
    t.extension: t
    for t in (
        FileType(".zip", "application/zip", declared_as=("application/x-zip-compressed",)),
        FileType(".exe", "application/vnd.microsoft.portable-executable"),
        FileType(".msi", "application/x-msi"),
        FileType(".pdf", "application/pdf"),
        FileType(".txt", "text/plain; charset=utf-8", text=True),
        FileType(".log", "text/plain; charset=utf-8", text=True, declared_as=("text/x-log",)),
        FileType(
            ".csv", "text/csv; charset=utf-8", text=True, declared_as=("application/vnd.ms-excel",)
        ),
        FileType(".xml", "application/xml", text=True, declared_as=("text/xml",)),
        FileType(".png", "image/png"),
        FileType(".jpg", "image/jpeg", declared_as=("image/pjpeg",)),
        FileType(".jpeg", "image/jpeg", declared_as=("image/pjpeg",)),
        FileType(".gif", "image/gif"),
        FileType(".webp", "image/webp"),
        FileType(
            ".docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            container=".zip",
        ),
        FileType(
            ".xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            container=".zip",
        ),
        FileType(".mp4", "video/mp4", inline=True),
        FileType(".webm", "video/webm", inline=True),
    )
}

ALLOWED: dict[Kind, tuple[str, ...]] = {
    "release": (".zip", ".exe", ".msi", ".pdf", ".txt"),
    "recording": (".mp4", ".webm"),
    "attachment": (
        *(".png", ".jpg", ".jpeg", ".gif", ".webp"),
        *(".pdf", ".docx", ".xlsx"),
        *(".txt", ".log", ".csv", ".xml"),
        ".zip",
    ),
}
"""The allow-list of each kind, by extension. Attachments are what a customer sends support:
screenshots, documents, logs and exported data; nothing a browser would run (no HTML, SVG or
scripts), and no programs."""


class BadNameError(ValueError):
    """The file name cannot be used (empty, too long, a path, control characters)."""


class UnsupportedTypeError(ValueError):
    """The name's extension is not on the kind's allow-list, or the bytes are not of that type."""


def checked_name(name: str) -> str:
    """The file name as stored and shown (NFC), or `BadNameError`: a name is one path segment
    of printable characters, never a path that could leave its folder."""
    cleaned = unicodedata.normalize("NFC", name.strip())
    if not cleaned:
        raise BadNameError("The file needs a name.")
    if len(cleaned) > NAME_MAX_LENGTH:
        raise BadNameError(f"A file name is at most {NAME_MAX_LENGTH} characters long.")
    if any(c in "/\\" for c in cleaned) or cleaned in {".", ".."} or cleaned.startswith("."):
        raise BadNameError("A file name is a name, not a path: no '/', '\\' or leading '.'.")
    if any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Zl", "Zp"} for c in cleaned):
        raise BadNameError("A file name cannot hold control or invisible formatting characters.")
    return cleaned


def type_for(kind: Kind, name: str) -> FileType:
    """The allowed type a file of this kind and name has, or `UnsupportedTypeError`."""
    dot = name.rfind(".")
    extension = name[dot:].lower() if dot > 0 else ""
    if extension not in ALLOWED[kind]:
        allowed = ", ".join(ALLOWED[kind])
        article = "An" if kind[0] in "aeiou" else "A"
        raise UnsupportedTypeError(
            f"{article} {kind} file must be one of {allowed}; {name!r} is not."
        )
    return _TYPES[extension]


def check_bytes(file_type: FileType, head: bytes, *, complete: bool) -> None:
    """Raise `UnsupportedTypeError` unless `head`, the first bytes of the file (all of it when
    `complete`), are of `file_type`."""
    if not head:
        raise UnsupportedTypeError("The file is empty.")
    if file_type.text:
        _check_text(head, complete=complete)
        return
    try:
        found = {match.extension.lower() for match in puremagic.magic_string(head)}
    except puremagic.PureError:
        found = set()
    if (file_type.container or file_type.extension) not in found:
        raise UnsupportedTypeError(
            f"The file's content is not {file_type.extension[1:].upper()}, as its name says."
        )


def _check_text(head: bytes, *, complete: bool) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        text = decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        raise UnsupportedTypeError("A text file must be UTF-8 text.") from None
    if "\x00" in text:
        raise UnsupportedTypeError("A text file cannot hold NUL characters.")


def shown_inline(media_type: str) -> bool:
    """Whether a file of this type is shown in the browser (a video) rather than saved."""
    return any(t.inline and t.media_type == media_type for t in _TYPES.values())
