"""Uploads as a client sends them, for the attachment and the download tests alike: the body is
the file and `?name=` names it; a file over the size limit, said up front or streamed; an upload
broken off midway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

from devstack.stack import Stack


async def upload(
    gateway: httpx.AsyncClient,
    headers: dict[str, str],
    path: str,
    name: str,
    content: Any,
    **params: str,
) -> httpx.Response:
    """POST a file's bytes (or an async iterator of its chunks) to `path` as `name`."""
    return await gateway.post(
        path, params={"name": name, **params}, content=content, headers=headers
    )


def zip_past(limit: int) -> bytes:
    """A ZIP's signature and then zeros: four bytes more than `limit`."""
    return b"PK\x03\x04" + b"\x00" * limit


async def in_chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    """`data` in chunks of `size` bytes, as a client streams a body without a Content-Length."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def broken_off_upload(
    stack: Stack, headers: dict[str, str], target: str, *, promised: int, sent: bytes
) -> asyncio.StreamWriter:
    """Start a ZIP's upload to `target` (path and query) promising `promised` bytes, send only
    `sent`, and return the open connection; the test closes it when the client is to go away."""
    host, port = stack.gateway_url.removeprefix("http://").split(":")
    _, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST {target} HTTP/1.1\r\n"
        f"Host: {host}\r\nAuthorization: {headers['authorization']}\r\n"
        f"Content-Type: application/zip\r\nContent-Length: {promised}\r\n\r\n"
    )
    writer.write(head.encode() + sent)
    await writer.drain()
    return writer
