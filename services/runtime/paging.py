"""Keyset pagination: a page of a list ends with an opaque cursor that the next request passes
back, and the next page starts after that row's sort key; no OFFSET to skip and no count of the
whole list unless asked (docs/decisions.md, "The event pipeline at speed").

A cursor is the sort key of a page's last row, encoded as URL-safe base64 of a JSON array. It
is opaque to clients, but not secret: it holds only what the row's own fields already show.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, HTTPException, Query
from pydantic import BaseModel, Field

T = TypeVar("T")

KeyPart = datetime | date | uuid.UUID | int | str
"""What a sort key is made of here: moments, days, ids, numbers and texts (names, e-mails)."""

CursorParam = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="`next_cursor` of the previous page; absent for the first page.",
    ),
]
WithTotal = Annotated[
    bool,
    Query(description="Also count the whole list (slower on a long one); else `total` is null."),
]


class CursorPage(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )
    total: int | None = Field(
        default=None, description="The length of the whole list, when asked with `with_total`."
    )

    @classmethod
    def of(
        cls,
        rows: Sequence[Any],
        *,
        limit: int,
        item: Callable[[Any], T],
        key: Callable[[Any], tuple[KeyPart, ...]],
        total: int | None = None,
    ) -> CursorPage[T]:
        """The page from rows fetched `limit + 1` (the extra one only says more follow); the
        cursor is the sort key of the last row shown."""
        shown = rows[:limit]
        more = len(rows) > limit and bool(shown)
        return cls(
            items=[item(r) for r in shown],
            limit=limit,
            next_cursor=encode_cursor(*key(shown[-1])) if more else None,
            total=total,
        )


def encode_cursor(*key: KeyPart) -> str:
    parts = [p.isoformat() if isinstance(p, date) else p for p in key]
    text = json.dumps([str(p) if isinstance(p, uuid.UUID) else p for p in parts])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *kinds: type[KeyPart]) -> tuple[KeyPart, ...]:
    """The sort key a cursor holds, each part of the kind given; a cursor this API did not give
    out (or for another list) is the client's error (422), never a server error."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise ValueError("wrong shape")
        return tuple(_part(kind, value) for kind, value in zip(kinds, parts, strict=True))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, OverflowError) as error:
        raise HTTPException(
            422, "The cursor is not one this list gave out; start again from the first page."
        ) from error


def after_cursor(cursor: str | None, *kinds: type[KeyPart]) -> tuple[Any, ...] | None:
    """Where a page starts: after the sort key its cursor holds (`decode_cursor`), or at the
    beginning (None) without one."""
    return None if cursor is None else decode_cursor(cursor, *kinds)


def _part(kind: type[KeyPart], value: object) -> KeyPart:
    if kind is datetime:
        if not isinstance(value, str):
            raise TypeError("moment")
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("moment without offset")
        return moment
    if kind is date:
        if not isinstance(value, str) or len(value) != 10:
            raise TypeError("day")
        return date.fromisoformat(value)
    if kind is uuid.UUID:
        if not isinstance(value, str):
            raise TypeError("id")
        return uuid.UUID(value)
    if kind is str:
        if not isinstance(value, str) or "\x00" in value:
            raise TypeError("text")
        return value
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise TypeError("number")
    return value


async def _no_offset(
    offset: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> None:
    if offset is not None:
        raise HTTPException(
            422, "Lists page by cursor: pass the previous page's `next_cursor` as `cursor`."
        )


NoOffset = Depends(_no_offset)
"""On a paged route: an `offset` (the lists' parameter before cursors) is refused with the way
to page instead of being ignored, which would answer the first page again."""
