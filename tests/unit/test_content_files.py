"""The content service's pure checks: file names, types against bytes, byte ranges, intake."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest

from services.content.filetypes import (
    SNIFF_BYTES,
    BadNameError,
    UnsupportedTypeError,
    check_bytes,
    checked_name,
    type_for,
)
from services.content.intake import Intake, TooLargeError
from services.content.ranges import ByteRange, RangeNotSatisfiableError, requested_range

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"1 0 obj\n" * 2000
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 100
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00" * 100
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 50


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd.zip", "a/b.zip", "a\\b.zip", ".htaccess", "..", "a\x00.zip", "x\u202e.zip"],
)
def test_a_name_that_is_a_path_or_hides_characters_is_refused(name: str) -> None:
    with pytest.raises(BadNameError):
        checked_name(name)


def test_a_plain_name_is_kept_in_composed_form() -> None:
    assert checked_name("  Navodila za namestitev Plače 2026.pdf ") == (
        "Navodila za namestitev Plače 2026.pdf"
    )
    assert checked_name("Plac\u030ce.zip") == "Plače.zip"


def test_the_type_comes_from_the_extension_on_the_kinds_allow_list() -> None:
    assert type_for("release", "Setup.EXE").media_type.startswith("application/vnd.microsoft")
    assert type_for("recording", "uvod.mp4").inline
    with pytest.raises(UnsupportedTypeError):
        type_for("recording", "uvod.pdf")
    with pytest.raises(UnsupportedTypeError):
        type_for("release", "script.sh")
    with pytest.raises(UnsupportedTypeError):
        type_for("release", "zip")


@pytest.mark.parametrize(
    ("name", "head"),
    [("notes.pdf", PDF), ("setup.zip", ZIP), ("uvod.mp4", MP4), ("readme.txt", "Čšž\n".encode())],
)
def test_bytes_of_the_named_type_pass(name: str, head: bytes) -> None:
    kind = "recording" if name.endswith(".mp4") else "release"
    check_bytes(type_for(kind, name), head, complete=True)


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("notes.pdf", PNG),
        ("setup.zip", PDF),
        ("uvod.mp4", ZIP),
        ("readme.txt", b"binary\x00data"),
        ("readme.txt", b"\xff\xfe latin"),
        ("notes.pdf", b""),
    ],
)
def test_bytes_that_are_not_what_the_name_says_are_refused(name: str, head: bytes) -> None:
    kind = "recording" if name.endswith(".mp4") else "release"
    with pytest.raises(UnsupportedTypeError):
        check_bytes(type_for(kind, name), head, complete=True)


def test_text_cut_inside_a_character_passes_only_while_more_follows() -> None:
    head = "ž".encode()[:1]
    check_bytes(type_for("release", "a.txt"), b"ok " + head, complete=False)
    with pytest.raises(UnsupportedTypeError):
        check_bytes(type_for("release", "a.txt"), b"ok " + head, complete=True)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", ByteRange(0, 99)),
        ("bytes=900-", ByteRange(900, 999)),
        ("bytes=-100", ByteRange(900, 999)),
        ("bytes=-5000", ByteRange(0, 999)),
        ("bytes=990-5000", ByteRange(990, 999)),
        ("bytes=0-0", ByteRange(0, 0)),
        ("bytes=0-99,200-299", None),  # several ranges: the whole file
        ("items=0-99", None),
        ("bytes=50-10", None),
        ("bytes=-", None),
        ("bytes=abc", None),
    ],
)
def test_one_range_is_served_and_anything_else_is_the_whole_file(
    header: str | None, expected: ByteRange | None
) -> None:
    assert requested_range(header, 1000) == expected


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=1000-", 1000), ("bytes=-0", 1000), ("bytes=0-", 0)]
)
def test_a_range_past_the_end_is_not_satisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiableError):
        requested_range(header, size)


def test_content_range_names_the_bytes_and_the_size() -> None:
    part = ByteRange(100, 199)
    assert (part.length, part.content_range(1000)) == (100, "bytes 100-199/1000")


async def _chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_intake_holds_back_the_start_until_checked_then_streams() -> None:
    intake = Intake(type_for("release", "n.pdf"), max_bytes=10**6)
    body = [PDF[:10], PDF[10 : SNIFF_BYTES + 5], PDF[SNIFF_BYTES + 5 :]]
    passed = [chunk async for chunk in intake.checked(_chunks(*body))]
    assert passed[0] == PDF[: SNIFF_BYTES + 5]  # the first two chunks, checked together
    assert b"".join(passed) == PDF
    assert intake.size == len(PDF)
    assert intake.sha256 == hashlib.sha256(PDF).hexdigest()


async def test_intake_passes_nothing_of_a_file_of_another_type() -> None:
    intake = Intake(type_for("release", "n.pdf"), max_bytes=10**6)
    passed: list[bytes] = []
    with pytest.raises(UnsupportedTypeError):
        async for chunk in intake.checked(_chunks(PNG, b"\x00" * SNIFF_BYTES)):
            passed.append(chunk)
    assert passed == []


async def test_intake_stops_at_the_size_limit() -> None:
    intake = Intake(type_for("release", "n.pdf"), max_bytes=SNIFF_BYTES * 2)
    with pytest.raises(TooLargeError):
        async for _ in intake.checked(_chunks(PDF[:SNIFF_BYTES], b"1" * SNIFF_BYTES, b"2")):
            pass
