"""The portal's downloads and training recordings, through the gateway: what each organization
sees, the files streamed both ways, ranges for a video, and every refusal changing nothing."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.content import ProgramLicenceChanged, TrainingOrderChanged
from contracts.topics import CONTENT_EVENTS
from devstack.stack import Stack
from services.auth.demo import CONSULTANT, CUSTOMER, VENDOR_ADMIN
from services.runtime.clock import ControlledClock
from services.runtime.local_time import local
from tests.e2e.helpers import (
    NewCustomer,
    announce,
    create_user,
    deliver,
    json_of,
    mails_to,
)
from tests.e2e.uploads import broken_off_upload, in_chunks, upload, zip_past
from tests.support import SignedIn, eventually, fetch

pytestmark = pytest.mark.stack

VIDEO = (Path(__file__).parents[2] / "devstack" / "demo" / "uvod-v-place.mp4").read_bytes()
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + os.urandom(1 << 20)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"1 0 obj << >> endobj\n" * 500
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 9000


def _today(clock: ControlledClock) -> date:
    return local(clock.now()).date()


async def _license(stack: Stack, org_id: str, program: str, *, licensed: bool, on: date) -> None:
    """The ERP's licence change, taken by the content service."""
    event = ProgramLicenceChanged(
        org_id=uuid.UUID(org_id), program=program, licensed=licensed, valid_from=on
    )
    await announce(stack, event, source="erp", read_by="content", now=stack.clock.now())


async def _draft_release(
    gateway: httpx.AsyncClient, admin: dict[str, str], program: str, version: str = "2026.12"
) -> dict[str, Any]:
    response = await gateway.post(
        "/api/content/releases",
        json={
            "program": program,
            "version": version,
            "released_on": "2026-12-01",
            "notes_sl": "Nov obračun regresa.",
            "notes_en": "New holiday-allowance calculation.",
        },
        headers=admin,
    )
    return json_of(response, 201)


async def _published_release(
    gateway: httpx.AsyncClient, admin: dict[str, str], program: str
) -> dict[str, Any]:
    release = await _draft_release(gateway, admin, program)
    files = f"/api/content/releases/{release['id']}/files"
    for name, content in (("setup.zip", ZIP), ("Navodila.pdf", PDF)):
        response = await upload(gateway, admin, files, name, content)
        assert response.status_code == 201, response.text
    response = await gateway.post(f"/api/content/releases/{release['id']}/publish", headers=admin)
    return json_of(response)


def _program() -> str:
    return f"Plače {uuid.uuid4().hex[:8]}"


async def test_a_licensed_organization_sees_the_release_and_downloads_its_files(
    gateway: httpx.AsyncClient,
    stack: Stack,
    vendor_admin: dict[str, str],
    clock: ControlledClock,
    admin_dsn_for: Any,
    newcomer: NewCustomer,
) -> None:
    program = _program()
    (licensed, customer), (_, stranger) = await asyncio.gather(newcomer(), newcomer())
    release = await _published_release(gateway, vendor_admin, program)
    await _license(stack, licensed["org_id"], program, licensed=True, on=_today(clock))

    listed = await gateway.get(
        "/api/content/releases", params={"program": program}, headers=customer
    )
    assert listed.status_code == 200, listed.text
    [shown] = listed.json()["items"]
    assert (shown["id"], shown["version"], shown["notes"]) == (
        release["id"],
        "2026.12",
        "Nov obračun regresa.",
    )
    files = {f["name"]: f for f in shown["files"]}
    assert set(files) == {"setup.zip", "Navodila.pdf"}
    assert files["setup.zip"]["sha256"] == hashlib.sha256(ZIP).hexdigest()
    assert files["setup.zip"]["size"] == len(ZIP)
    programs = await gateway.get("/api/content/programs", headers=customer)
    assert program in programs.json()

    download = await gateway.get(files["setup.zip"]["url"], headers=customer)
    assert download.status_code == 200
    assert download.content == ZIP
    assert download.headers["etag"] == f'"{hashlib.sha256(ZIP).hexdigest()}"'
    assert download.headers["content-type"] == "application/zip"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"

    # Another organization, not licensed: the release and its files do not exist for it.
    assert (
        await gateway.get("/api/content/releases", params={"program": program}, headers=stranger)
    ).json()["items"] == []
    for url in (f"/api/content/releases/{release['id']}", files["setup.zip"]["url"]):
        assert (await gateway.get(url, headers=stranger)).status_code == 404

    records = await gateway.get(
        "/api/content/downloads", params={"file_id": files["setup.zip"]["id"]}, headers=vendor_admin
    )
    assert records.status_code == 200, records.text
    [record] = records.json()["items"]
    assert (record["user_id"], record["org_id"], record["file_name"]) == (
        licensed["user_id"],
        licensed["org_id"],
        "setup.zip",
    )

    # The licence ends today: the release is gone for the organization, like a stranger's.
    await _license(stack, licensed["org_id"], program, licensed=False, on=_today(clock))
    assert (
        await gateway.get("/api/content/releases", params={"program": program}, headers=customer)
    ).json()["items"] == []
    assert (await gateway.get(files["setup.zip"]["url"], headers=customer)).status_code == 404
    rows = await fetch(
        admin_dsn_for("content"),
        "SELECT count(*) AS n FROM downloads WHERE file_id = $1",
        uuid.UUID(files["setup.zip"]["id"]),
    )
    assert rows[0]["n"] == 1  # refused requests are not downloads


async def test_a_licence_from_a_later_day_holds_from_that_day(
    gateway: httpx.AsyncClient,
    vendor_admin: dict[str, str],
    signed_in: SignedIn,
    clock: ControlledClock,
) -> None:
    program = _program()
    await _published_release(gateway, vendor_admin, program)
    org = str(CUSTOMER.org_id)
    response = await gateway.post(
        f"/api/content/organizations/{org}/licences",
        json={
            "program": program,
            "licensed": True,
            "valid_from": str(_today(clock) + timedelta(days=30)),
        },
        headers=vendor_admin,
    )
    assert response.status_code == 201, response.text

    async def shown() -> list[Any]:
        headers = await signed_in.headers(CUSTOMER.email)
        response = await gateway.get(
            "/api/content/releases", params={"program": program}, headers=headers
        )
        assert response.status_code == 200, response.text
        items: list[Any] = response.json()["items"]
        return items

    assert await shown() == []
    clock.advance(timedelta(days=31))
    assert len(await shown()) == 1
    admin = await signed_in.headers(VENDOR_ADMIN.email)
    state = await gateway.get(f"/api/content/organizations/{org}/licences", headers=admin)
    assert program in state.json()["licensed_today"]
    assert [c["program"] for c in state.json()["changes"]].count(program) == 1


async def test_a_draft_is_hidden_until_published_and_published_content_does_not_change(
    gateway: httpx.AsyncClient,
    stack: Stack,
    vendor_admin: dict[str, str],
    clock: ControlledClock,
    admin_dsn_for: Any,
    newcomer: NewCustomer,
) -> None:
    program = _program()
    person, customer = await newcomer()
    await _license(stack, person["org_id"], program, licensed=True, on=_today(clock))
    release = await _draft_release(gateway, vendor_admin, program)
    publish = f"/api/content/releases/{release['id']}/publish"
    files = f"/api/content/releases/{release['id']}/files"

    assert (await gateway.post(publish, headers=vendor_admin)).status_code == 409  # no files yet
    assert (await upload(gateway, vendor_admin, files, "setup.zip", ZIP)).status_code == 201
    assert (
        await gateway.get(f"/api/content/releases/{release['id']}", headers=customer)
    ).status_code == 404
    drafts = await gateway.get(
        "/api/content/releases", params={"program": program, "drafts": "true"}, headers=vendor_admin
    )
    assert [r["status"] for r in drafts.json()["items"]] == ["draft"]
    assert (await gateway.post(publish, headers=vendor_admin)).status_code == 200
    assert (
        await gateway.get(f"/api/content/releases/{release['id']}", headers=customer)
    ).status_code == 200

    assert (await gateway.post(publish, headers=vendor_admin)).status_code == 409
    assert (await upload(gateway, vendor_admin, files, "more.pdf", PDF)).status_code == 409
    file_id = (
        await gateway.get(f"/api/content/releases/{release['id']}", headers=customer)
    ).json()["files"][0]["id"]
    assert (
        await gateway.delete(f"/api/content/files/{file_id}", headers=vendor_admin)
    ).status_code == 409
    duplicate = await gateway.post(
        "/api/content/releases",
        json={"program": program, "version": "2026.12", "released_on": "2026-12-01"},
        headers=vendor_admin,
    )
    assert duplicate.status_code == 409

    announced = await fetch(
        admin_dsn_for("content"),
        """SELECT envelope->'payload' AS p FROM outbox
            WHERE event_type = 'ReleasePublished' AND message_key = $1""",
        release["id"],
    )
    assert len(announced) == 1


@pytest.mark.parametrize("email", [CUSTOMER.email, CONSULTANT.email])
async def test_only_a_vendor_admin_publishes_records_inputs_and_reads_downloads(
    gateway: httpx.AsyncClient, signed_in: SignedIn, vendor_admin: dict[str, str], email: str
) -> None:
    headers = await signed_in.headers(email)
    release = await _draft_release(gateway, vendor_admin, _program())
    org = str(uuid.uuid4())
    attempts = [
        gateway.post(
            "/api/content/releases",
            json={"program": "X", "version": "1", "released_on": "2026-12-01"},
            headers=headers,
        ),
        gateway.post(
            f"/api/content/releases/{release['id']}/files",
            params={"name": "a.zip"},
            content=ZIP,
            headers=headers,
        ),
        gateway.post(f"/api/content/releases/{release['id']}/publish", headers=headers),
        gateway.post(
            f"/api/content/organizations/{org}/licences",
            json={"program": "X", "licensed": True, "valid_from": "2026-01-01"},
            headers=headers,
        ),
        gateway.post(
            f"/api/content/organizations/{org}/training-orders",
            json={"training_id": "T-1", "ordered": True},
            headers=headers,
        ),
        gateway.get(f"/api/content/organizations/{org}/licences", headers=headers),
        gateway.get(f"/api/content/organizations/{org}/training-orders", headers=headers),
        gateway.get("/api/content/downloads", headers=headers),
        gateway.get("/api/content/releases", params={"drafts": "true"}, headers=headers),
        gateway.get("/api/content/recordings", params={"drafts": "true"}, headers=headers),
        gateway.post(
            "/api/content/recordings",
            json={
                "training_id": "T-1",
                "title": "Uvod",
                "program": "X",
                "held_on": "2026-11-20",
                "duration_s": 60,
            },
            headers=headers,
        ),
        gateway.put(
            f"/api/content/recordings/{uuid.uuid4()}/video",
            params={"name": "a.mp4"},
            content=VIDEO,
            headers=headers,
        ),
        gateway.post(f"/api/content/recordings/{uuid.uuid4()}/publish", headers=headers),
        gateway.delete(f"/api/content/files/{uuid.uuid4()}", headers=headers),
        gateway.post(
            "/api/content/attachments/imports",
            params={"name": "posnetek.png"},
            content=PNG,
            headers=headers,
        ),
    ]
    for response in await asyncio.gather(*attempts):
        assert response.status_code == 403, (response.request.url, response.text)
    assert (
        await gateway.get(f"/api/content/releases/{release['id']}", headers=vendor_admin)
    ).json()["files"] == []
    assert (await gateway.get("/api/content/releases")).status_code == 401


async def _nothing_stored(stack: Stack, dsn: str, release_id: str) -> bool:
    rows = await fetch(dsn, "SELECT status FROM files WHERE release_id = $1", uuid.UUID(release_id))
    folder = stack.content_dir / "releases" / release_id
    leftovers = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
    return not rows and not leftovers


async def test_a_refused_upload_changes_nothing(
    gateway: httpx.AsyncClient, stack: Stack, vendor_admin: dict[str, str], admin_dsn_for: Any
) -> None:
    release = await _draft_release(gateway, vendor_admin, _program())
    files = f"/api/content/releases/{release['id']}/files"
    too_big = zip_past(8 << 20)
    cases = {
        "larger than the limit, said up front": (413, "setup.zip", too_big, {}),
        "a PNG named .pdf": (415, "Navodila.pdf", PNG, {}),
        "a type off the allow-list": (415, "install.sh", b"#!/bin/sh\n", {}),
        "a name that is a path": (422, "../../etc/setup.zip", ZIP, {}),
        "a name with a NUL": (422, "setup\x00.zip", ZIP, {}),
        "a checksum that does not match": (422, "setup.zip", ZIP, {"sha256": "0" * 64}),
        "an empty file": (415, "setup.zip", b"", {}),
    }
    for case, (status, name, content, params) in cases.items():
        response = await upload(gateway, vendor_admin, files, name, content, **params)
        assert response.status_code == status, (case, response.text)
        assert "detail" in response.json()
    declared = await gateway.post(
        files,
        params={"name": "Navodila.pdf"},
        content=PDF,
        headers={**vendor_admin, "content-type": "text/html"},
    )
    assert declared.status_code == 415
    # Larger than the limit without a Content-Length: stopped at the limit while streaming.
    chunked = await upload(gateway, vendor_admin, files, "setup.zip", in_chunks(too_big, 1 << 20))
    assert chunked.status_code == 413, chunked.text

    assert await _nothing_stored(stack, admin_dsn_for("content"), release["id"])
    assert (
        await gateway.get(f"/api/content/releases/{release['id']}", headers=vendor_admin)
    ).json()["files"] == []


async def test_an_upload_cut_off_midway_leaves_nothing_behind(
    gateway: httpx.AsyncClient, stack: Stack, vendor_admin: dict[str, str], admin_dsn_for: Any
) -> None:
    release = await _draft_release(gateway, vendor_admin, _program())
    target = f"/api/content/releases/{release['id']}/files?name=setup.zip"
    # 1 MiB of the 6 promised
    writer = await broken_off_upload(stack, vendor_admin, target, promised=6 << 20, sent=ZIP)

    dsn = admin_dsn_for("content")

    async def receiving() -> bool:
        rows = await fetch(
            dsn, "SELECT status FROM files WHERE release_id = $1", uuid.UUID(release["id"])
        )
        return bool(rows)

    await eventually(receiving, what="the upload to begin")
    writer.close()  # the client goes away

    async def cleared() -> bool:
        return await _nothing_stored(stack, dsn, release["id"])

    await eventually(cleared, what="the abandoned upload to be cleared")


async def test_a_recording_plays_by_range_for_an_organization_that_ordered_its_training(
    gateway: httpx.AsyncClient,
    stack: Stack,
    vendor_admin: dict[str, str],
    clock: ControlledClock,
    newcomer: NewCustomer,
) -> None:
    training = f"PLACE-{uuid.uuid4().hex[:8]}"
    (person, customer), (_, stranger) = await asyncio.gather(newcomer(), newcomer())
    response = await gateway.post(
        "/api/content/recordings",
        json={
            "training_id": training,
            "title": "Uvod v program Plače",
            "program": "Plače",
            "held_on": "2026-11-20",
            "duration_s": 6,
            "description": "Prvi koraki: zaposleni, obračun, izpis.",
        },
        headers=vendor_admin,
    )
    assert response.status_code == 201, response.text
    recording = response.json()
    video = await gateway.put(
        f"/api/content/recordings/{recording['id']}/video",
        params={"name": "uvod.mp4", "sha256": hashlib.sha256(VIDEO).hexdigest()},
        content=VIDEO,
        headers={**vendor_admin, "content-type": "video/mp4"},
    )
    assert video.status_code == 201, video.text
    assert (
        await gateway.post(
            f"/api/content/recordings/{recording['id']}/publish", headers=vendor_admin
        )
    ).status_code == 200
    event = TrainingOrderChanged(
        org_id=uuid.UUID(person["org_id"]), training_id=training, ordered=True, as_of=clock.now()
    )
    await announce(stack, event, source="training", read_by="content", now=stack.clock.now())

    listed = (await gateway.get("/api/content/recordings", headers=customer)).json()["items"]
    [shown] = [r for r in listed if r["id"] == recording["id"]]
    url, size = shown["video"]["url"], len(VIDEO)

    first = await gateway.get(url, headers={**customer, "range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.content == VIDEO[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{size}"
    assert first.headers["content-type"] == "video/mp4"
    assert first.headers["content-disposition"].startswith("inline;")
    last = await gateway.get(url, headers={**customer, "range": "bytes=-10"})
    assert (last.status_code, last.content) == (206, VIDEO[-10:])
    past = await gateway.get(url, headers={**customer, "range": f"bytes={size}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{size}"
    stale = await gateway.get(
        url, headers={**customer, "range": "bytes=0-99", "if-range": '"other"'}
    )
    assert (stale.status_code, stale.content) == (200, VIDEO)
    head = await gateway.head(url, headers=customer)
    assert (head.status_code, head.headers["content-length"], head.headers["accept-ranges"]) == (
        200,
        str(size),
        "bytes",
    )

    assert (await gateway.get(url, headers=stranger)).status_code == 404
    assert (
        await gateway.get(f"/api/content/recordings/{recording['id']}", headers=stranger)
    ).status_code == 404

    withdrawn = await gateway.post(
        f"/api/content/organizations/{person['org_id']}/training-orders",
        json={"training_id": training, "ordered": False},
        headers=vendor_admin,
    )
    assert withdrawn.status_code == 201
    assert (await gateway.get(url, headers=customer)).status_code == 404


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/content/releases", {"cursor": "bm90LWEtY3Vyc29y"}),
        ("/api/content/releases", {"offset": "20"}),
        ("/api/content/recordings", {"limit": "0"}),
        ("/api/content/releases/not-an-id", {}),
        ("/api/content/files/not-an-id", {}),
        ("/api/content/downloads", {"cursor": "%%%"}),
    ],
)
async def test_a_malformed_read_is_a_clear_422(
    gateway: httpx.AsyncClient, vendor_admin: dict[str, str], path: str, params: dict[str, str]
) -> None:
    response = await gateway.get(path, params=params, headers=vendor_admin)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "body",
    [
        {"program": "Plače", "version": "1", "released_on": "9999-12-31"},
        {"program": "", "version": "1", "released_on": "2026-12-01"},
        {"program": "Plače", "version": "1 2", "released_on": "2026-12-01"},
        {"program": "Plače", "version": "1", "released_on": "2026-12-01", "extra": True},
    ],
)
async def test_a_malformed_release_is_a_clear_422(
    gateway: httpx.AsyncClient, vendor_admin: dict[str, str], body: dict[str, Any]
) -> None:
    response = await gateway.post("/api/content/releases", json=body, headers=vendor_admin)
    assert response.status_code == 422, response.text


async def test_the_demo_customer_sees_the_demo_release_and_recording_at_once(
    gateway: httpx.AsyncClient, customer: dict[str, str]
) -> None:
    releases = await gateway.get(
        "/api/content/releases", params={"program": "Plače"}, headers=customer
    )
    [release] = [r for r in releases.json()["items"] if r["version"] == "2026.12"]
    assert [f["name"] for f in release["files"]] == ["Place-2026.12.zip"]
    recordings = await gateway.get("/api/content/recordings", headers=customer)
    titles = [r["title"] for r in recordings.json()["items"]]
    assert "Uvod v program Plače" in titles


async def test_each_user_of_a_licensed_organization_is_emailed_once_unless_they_opted_out(
    gateway: httpx.AsyncClient,
    stack: Stack,
    vendor_admin: dict[str, str],
    clock: ControlledClock,
    admin_dsn_for: Any,
    newcomer: NewCustomer,
) -> None:
    program = _program()
    (opted_out, opted_out_headers), (_, unlicensed) = await asyncio.gather(newcomer(), newcomer())
    org = opted_out["org_id"]
    english = await create_user(gateway, vendor_admin, org_id=org, language="en")
    slovene = await create_user(gateway, vendor_admin, org_id=org, language="sl")
    off = await gateway.put(
        "/api/notify/preferences", json={"release_emails": False}, headers=opted_out_headers
    )
    assert off.status_code == 200, off.text
    assert (await gateway.get("/api/notify/preferences", headers=opted_out_headers)).json() == {
        "release_emails": False
    }
    await _license(stack, org, program, licensed=True, on=_today(clock))

    release = await _published_release(gateway, vendor_admin, program)

    def about_release(address: str) -> list[Any]:
        return [m for m in mails_to(stack, address) if program in m.subject]

    async def both_told() -> bool:
        return bool(about_release(english["email"]) and about_release(slovene["email"]))

    await eventually(both_told, what="the release e-mails")
    [en_mail], [sl_mail] = about_release(english["email"]), about_release(slovene["email"])
    assert en_mail.subject == f"New version of {program}: 2026.12"
    assert "New holiday-allowance calculation." in en_mail.text()
    assert sl_mail.subject == f"Nova različica programa {program}: 2026.12"
    assert f"/downloads/{release['id']}" in sl_mail.text()

    # The event delivered again changes nothing; the one who opted out hears nothing.
    envelope = await fetch(
        admin_dsn_for("content"),
        """SELECT envelope::text AS e FROM outbox
            WHERE event_type = 'ReleaseAvailable' AND message_key = $1""",
        release["id"],
    )
    assert len(envelope) == 1  # one organization was licensed for the program
    value = envelope[0]["e"].encode()
    await deliver(stack, CONTENT_EVENTS, value, key=release["id"], read_by="notify")
    assert len(about_release(english["email"])) == len(about_release(slovene["email"])) == 1
    assert about_release(opted_out["email"]) == []
    mine = await gateway.get("/api/notify/emails", headers=unlicensed)
    assert all(program not in e["subject"] for e in mine.json()["items"])


async def test_readiness_reports_the_file_storage(stack: Stack) -> None:
    async with httpx.AsyncClient() as client:
        ready = await client.get(f"{stack.urls['content']}/readyz")
    assert ready.status_code == 200
    assert ready.json()["storage"] == "ok"
