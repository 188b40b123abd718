"""Files attached to tickets' messages, through the gateway on the real stack: uploaded to the
content service, named by a message on the tickets service, downloaded by whom the message is
for; internal notes' files never reach customers; every refusal changes nothing."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts.topics import DEAD_LETTER, TICKETS_EVENTS
from devstack.stack import Stack
from services.auth.demo import CONSULTANT, CUSTOMER, VENDOR_ADMIN
from services.runtime.clock import ControlledClock
from tests.e2e.helpers import (
    NewCustomer,
    bearer,
    create_organization,
    create_user,
    decided_ticket,
    deliver,
    imported,
    json_of,
    outbox_envelope,
    set_password,
    sign_in,
    submit_ticket,
    ticket_detail,
)
from tests.e2e.uploads import broken_off_upload, in_chunks, upload, zip_past
from tests.support import SignedIn, eventually, fetch, read_topic

pytestmark = pytest.mark.stack

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"1 0 obj << >> endobj\n" * 400
LOG = "2026-12-03 10:15:02 NAPAKA Obračun ni zaključen: davčna številka 'SI 123'\n".encode() * 50
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 64


def _attachments(ticket_id: str) -> str:
    return f"/api/content/tickets/{ticket_id}/attachments"


async def _attached(
    gateway: httpx.AsyncClient, headers: dict[str, str], ticket_id: str, name: str, content: bytes
) -> dict[str, Any]:
    response = await upload(gateway, headers, _attachments(ticket_id), name, content)
    return json_of(response, 201)


async def _message(
    gateway: httpx.AsyncClient,
    headers: dict[str, str],
    ticket_id: str,
    ids: list[str],
    *,
    internal: bool = False,
    body: str = "V prilogi.",
) -> httpx.Response:
    return await gateway.post(
        f"/api/tickets/{ticket_id}/messages",
        json={"body": body, "internal": internal, "attachment_ids": ids},
        headers=headers,
    )


async def _state(dsn: str, attachment_id: str) -> Any:
    rows = await fetch(
        dsn,
        """SELECT a.state, a.message_id, a.internal, a.bound_at, f.status FROM attachments a
             JOIN files f ON f.id = a.file_id WHERE a.file_id = $1""",
        uuid.UUID(attachment_id),
    )
    return rows[0] if rows else None


async def _bound(dsn: str, attachment_id: str) -> Any:
    async def probe() -> Any:
        row = await _state(dsn, attachment_id)
        return row if row and row["state"] == "bound" else None

    return await eventually(probe, what=f"attachment {attachment_id} bound to its message")


async def test_a_customers_screenshot_reaches_the_consultant_with_the_message(
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    consultant: dict[str, str],
    vendor_admin: dict[str, str],
    admin_dsn_for: Any,
    newcomer: NewCustomer,
) -> None:
    ticket = await submit_ticket(gateway, customer, subject="Napaka pri obračunu")
    # At once: the content service may not have read TicketCreated yet, and waits for it.
    uploaded = await _attached(gateway, customer, ticket["id"], "Napaka pri obračunu.png", PNG)
    assert (uploaded["ticket_id"], uploaded["state"], uploaded["size"]) == (
        ticket["id"],
        "pending",
        len(PNG),
    )
    assert uploaded["sha256"] == hashlib.sha256(PNG).hexdigest()
    url = uploaded["url"]
    # Pending: its uploader sees it, nobody else does.
    assert (await gateway.get(url, headers=customer)).content == PNG
    assert (await gateway.get(url, headers=consultant)).status_code == 404

    # At once too: the tickets service may not have heard of the upload yet, and waits for it.
    posted = await _message(gateway, customer, ticket["id"], [uploaded["id"]])
    assert posted.status_code == 201, posted.text
    assert [
        (a["id"], a["name"], a["size"], a["media_type"]) for a in posted.json()["attachments"]
    ] == [(uploaded["id"], "Napaka pri obračunu.png", len(PNG), "image/png")]
    await _bound(admin_dsn_for("content"), uploaded["id"])

    download = await gateway.get(url, headers=consultant)
    assert download.status_code == 200
    assert download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff"
    part = await gateway.get(url, headers={**consultant, "range": "bytes=0-7"})
    assert (part.status_code, part.content) == (206, PNG[:8])

    for reader in (customer, consultant):
        [message] = (await ticket_detail(gateway, reader, ticket["id"]))["messages"]
        assert [a["url"] for a in message["attachments"]] == [url]

    records = await gateway.get(
        "/api/content/downloads", params={"file_id": uploaded["id"]}, headers=vendor_admin
    )
    assert {r["user_id"] for r in records.json()["items"]} == {
        str(CUSTOMER.id),
        str(CONSULTANT.id),
    }
    assert len(records.json()["items"]) == 3  # the customer's, the consultant's whole and range

    # Another organization: neither the file nor the ticket exists for it.
    _, stranger = await newcomer()
    assert (await gateway.get(url, headers=stranger)).status_code == 404
    assert (await gateway.head(url, headers=stranger)).status_code == 404
    refused = await upload(gateway, stranger, _attachments(ticket["id"]), "moje.png", PNG)
    assert refused.status_code == 404
    assert (await gateway.get(url)).status_code == 401


async def test_an_internal_notes_file_is_for_vendor_staff_only(
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    consultant: dict[str, str],
    vendor_admin: dict[str, str],
    admin_dsn_for: Any,
) -> None:
    ticket = await submit_ticket(gateway, customer, subject="Dnevnik obračuna")
    log_file = await _attached(gateway, consultant, ticket["id"], "obracun.log", LOG)
    reply = await _attached(gateway, consultant, ticket["id"], "Navodila.pdf", PDF)

    note = await _message(
        gateway, consultant, ticket["id"], [log_file["id"]], internal=True, body="Interno."
    )
    assert note.status_code == 201, note.text
    answer = await _message(gateway, consultant, ticket["id"], [reply["id"]], body="Glejte PDF.")
    assert answer.status_code == 201, answer.text
    state = await _bound(admin_dsn_for("content"), log_file["id"])
    assert state["internal"] is True
    await _bound(admin_dsn_for("content"), reply["id"])

    seen = await ticket_detail(gateway, customer, ticket["id"])
    assert [m["body"] for m in seen["messages"]] == ["Glejte PDF."]
    assert [a["id"] for a in seen["messages"][0]["attachments"]] == [reply["id"]]
    assert (await gateway.get(log_file["url"], headers=customer)).status_code == 404
    assert (await gateway.get(reply["url"], headers=customer)).content == PDF

    staff_view = await ticket_detail(gateway, vendor_admin, ticket["id"])
    [internal] = [m for m in staff_view["messages"] if m["internal"]]
    assert [a["id"] for a in internal["attachments"]] == [log_file["id"]]
    download = await gateway.get(log_file["url"], headers=vendor_admin)
    assert (download.status_code, download.content) == (200, LOG)
    assert download.headers["content-type"] == "text/plain; charset=utf-8"

    # A customer cannot write an internal note, with a file or without.
    mine = await _attached(gateway, customer, ticket["id"], "moj.log", LOG)
    refused = await _message(gateway, customer, ticket["id"], [mine["id"]], internal=True)
    assert refused.status_code == 403
    assert (await _state(admin_dsn_for("content"), mine["id"]))["state"] == "pending"


async def test_a_message_carries_only_its_authors_own_uploads_to_its_ticket(
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    consultant: dict[str, str],
    admin_dsn_for: Any,
) -> None:
    ticket = await submit_ticket(gateway, customer, subject="Dve prijavi")
    other = await submit_ticket(gateway, customer, subject="Druga prijava")
    elsewhere = await _attached(gateway, customer, other["id"], "druga.png", PNG)
    theirs = await _attached(gateway, consultant, ticket["id"], "svetovalec.pdf", PDF)
    mine = await _attached(gateway, customer, ticket["id"], "moja.png", PNG)
    before = await decided_ticket(gateway, customer, ticket["id"])  # billing's step is done

    cases = {
        "another ticket's upload": [elsewhere["id"]],
        "someone else's upload": [theirs["id"]],
        "no such upload": [str(uuid.uuid4())],
        "one good, one not": [mine["id"], theirs["id"]],
        "named twice": [mine["id"], mine["id"]],
        "too many": [mine["id"]] * 11,
    }
    for case, ids in cases.items():
        response = await _message(gateway, customer, ticket["id"], ids)
        assert response.status_code == 422, (case, response.text)
    problems = (await _message(gateway, customer, ticket["id"], [elsewhere["id"]])).json()
    assert [e["msg"] for e in problems["errors"]] == [
        f"{elsewhere['id']}: not a file you uploaded to this ticket (upload it with "
        f"POST /api/content/tickets/{ticket['id']}/attachments)"
    ]

    after = await ticket_detail(gateway, customer, ticket["id"])
    assert (after["messages"], after["version"]) == (before["messages"], before["version"])
    for file in (elsewhere, theirs, mine):
        assert (await _state(admin_dsn_for("content"), file["id"]))["state"] == "pending"
    rows = await fetch(
        admin_dsn_for("tickets"),
        """SELECT count(*) AS n FROM attachments
            WHERE id = ANY($1::uuid[]) AND message_id IS NOT NULL""",
        [uuid.UUID(u["id"]) for u in (elsewhere, theirs, mine)],
    )
    assert rows[0]["n"] == 0

    # The right ones still go, once: a second message cannot take the same file.
    assert (await _message(gateway, customer, ticket["id"], [mine["id"]])).status_code == 201
    again = await _message(gateway, customer, ticket["id"], [mine["id"]])
    assert again.status_code == 422
    assert "attached to a message already" in again.text


async def test_the_message_delivered_again_or_forged_binds_nothing_twice(
    gateway: httpx.AsyncClient,
    stack: Stack,
    customer: dict[str, str],
    consultant: dict[str, str],
    admin_dsn_for: Any,
) -> None:
    ticket = await submit_ticket(gateway, customer, subject="Dvojna dostava")
    uploaded = await _attached(gateway, customer, ticket["id"], "posnetek.png", PNG)
    posted = await _message(gateway, customer, ticket["id"], [uploaded["id"]])
    assert posted.status_code == 201, posted.text
    first = await _bound(admin_dsn_for("content"), uploaded["id"])
    stored = await outbox_envelope(admin_dsn_for("tickets"), "TicketMessagePosted", ticket["id"])
    assert stored["payload"]["attachment_ids"] == [uploaded["id"]]
    assert stack.endpoints is not None
    bootstrap = stack.endpoints.kafka_bootstrap

    # The same event again (an at-least-once redelivery).
    value = json.dumps(stored).encode()
    await deliver(stack, TICKETS_EVENTS, value, key=ticket["id"], read_by="content")
    assert await _state(admin_dsn_for("content"), uploaded["id"]) == first

    # A forged one: a new event claiming the file for another message. It is dead-lettered.
    forged = {
        **stored,
        "event_id": str(uuid.uuid4()),
        "payload": {**stored["payload"], "message_id": str(uuid.uuid4())},
    }
    value = json.dumps(forged).encode()
    await deliver(stack, TICKETS_EVENTS, value, key=ticket["id"], read_by="content")
    assert await _state(admin_dsn_for("content"), uploaded["id"]) == first

    async def dead_lettered() -> Any:
        records = await read_topic(bootstrap, DEAD_LETTER)
        return [
            dict(r.headers)
            for r in records
            if json.loads(r.value).get("event_id") == forged["event_id"]
        ]

    [headers] = await eventually(dead_lettered, what="the forged event in the dead letters")
    assert b"attached to another message already" in headers["dlq_error"]
    assert (await gateway.get(uploaded["url"], headers=consultant)).content == PNG


async def test_an_upload_refused_or_cut_off_leaves_nothing_behind(
    gateway: httpx.AsyncClient,
    stack: Stack,
    customer: dict[str, str],
    admin_dsn_for: Any,
) -> None:
    ticket = await submit_ticket(gateway, customer, subject="Zavrnjene priloge")
    too_big = zip_past(2 << 20)
    streamed = in_chunks(too_big, 1 << 19)
    cases = {
        "larger than the limit, said up front": (413, "podatki.zip", too_big, {}),
        "larger than the limit, found while streaming": (413, "podatki.zip", streamed, {}),
        "a PNG named .pdf": (415, "Navodila.pdf", PNG, {}),
        "a program": (415, "popravek.exe", b"MZ\x90\x00" + b"\x00" * 100, {}),
        "a web page": (415, "stran.html", b"<html><script>alert(1)</script></html>", {}),
        "a log that is not UTF-8": (415, "obracun.log", "Čas".encode("cp1250") * 10, {}),
        "an empty file": (415, "prazno.txt", b"", {}),
        "a name that is a path": (422, "../../etc/passwd.txt", LOG, {}),
        "a name with a backslash": (422, "..\\..\\boot.png", PNG, {}),
        "a hidden name": (422, ".htaccess.txt", LOG, {}),
        "a checksum that does not match": (422, "posnetek.png", PNG, {"sha256": "0" * 64}),
    }
    for case, (status, name, content, params) in cases.items():
        response = await upload(
            gateway, customer, _attachments(ticket["id"]), name, content, **params
        )
        assert response.status_code == status, (case, response.text)
        assert "detail" in response.json()
    declared = await gateway.post(
        f"/api/content/tickets/{ticket['id']}/attachments",
        params={"name": "posnetek.png"},
        content=PNG,
        headers={**customer, "content-type": "text/html"},
    )
    assert declared.status_code == 415

    # Cut off midway: the client goes away after 1 MiB of the 2 promised.
    target = f"{_attachments(ticket['id'])}?name=podatki.zip"
    sent = zip_past((1 << 20) - 4)
    writer = await broken_off_upload(stack, customer, target, promised=2 << 20, sent=sent)
    dsn = admin_dsn_for("content")

    async def files() -> list[Any]:
        return await fetch(
            dsn,
            """SELECT f.status FROM files f JOIN attachments a ON a.file_id = f.id
                WHERE a.ticket_id = $1""",
            uuid.UUID(ticket["id"]),
        )

    await eventually(files, what="the upload to begin")
    writer.close()

    async def nothing_left() -> bool:
        folder = stack.content_dir / "attachments" / ticket["id"]
        leftovers = [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []
        return not await files() and not leftovers

    await eventually(nothing_left, what="nothing left of the refused and broken-off uploads")

    # A Windows browser says a ZIP is application/x-zip-compressed: that is a ZIP too.
    windows = await gateway.post(
        f"/api/content/tickets/{ticket['id']}/attachments",
        params={"name": "Izvoz podatkov.zip"},
        content=ZIP,
        headers={**customer, "content-type": "application/x-zip-compressed"},
    )
    assert windows.status_code == 201, windows.text
    assert windows.json()["media_type"] == "application/zip"


async def test_a_file_no_message_names_within_a_day_is_deleted(
    gateway: httpx.AsyncClient,
    stack: Stack,
    signed_in: SignedIn,
    clock: ControlledClock,
    admin_dsn_for: Any,
) -> None:
    customer = await signed_in.headers(CUSTOMER.email)
    ticket = await submit_ticket(gateway, customer, subject="Pozabljena priloga")
    kept = await _attached(gateway, customer, ticket["id"], "poslana.png", PNG)
    forgotten = await _attached(gateway, customer, ticket["id"], "pozabljena.png", PNG)
    assert (await _message(gateway, customer, ticket["id"], [kept["id"]])).status_code == 201
    await _bound(admin_dsn_for("content"), kept["id"])

    clock.advance(timedelta(hours=25))

    async def expired() -> bool:
        row = await _state(admin_dsn_for("content"), forgotten["id"])
        gone = await fetch(
            admin_dsn_for("tickets"),
            "SELECT id FROM attachments WHERE id = $1",
            uuid.UUID(forgotten["id"]),
        )
        return row["state"] == "expired" and row["status"] == "deleted" and not gone

    await eventually(expired, what="the unused attachment expired here and there")
    folder = stack.content_dir / "attachments" / ticket["id"]
    assert sorted(p.name for p in folder.iterdir()) == [kept["id"]]
    customer = await signed_in.headers(CUSTOMER.email)
    assert (await gateway.get(forgotten["url"], headers=customer)).status_code == 404
    late = await _message(gateway, customer, ticket["id"], [forgotten["id"]])
    assert late.status_code == 422
    assert (await gateway.get(kept["url"], headers=customer)).content == PNG
    assert (await _state(admin_dsn_for("content"), kept["id"]))["state"] == "bound"


def _legacy_document(tag: str, email: str, png: bytes, pdf: bytes) -> dict[str, Any]:
    old = datetime(2026, 9, 14, 9, 30, tzinfo=UTC)
    message = {
        "author_role": "customer",
        "author_name": "Stara Stranka",
        "body": "Pošiljam posnetek zaslona.",
        "posted_at": (old + timedelta(minutes=5)).isoformat(),
        "attachments": [{"name": "posnetek.png", "sha256": hashlib.sha256(png).hexdigest()}],
    }
    return {
        "format": "old-portal-tickets/1",
        "tickets": [
            {
                "reference": f"STARI-{tag}-1",
                "state": "open",
                "requester_email": email,
                "subject": f"Odprt s prilogo {tag}",
                "body": "Obračun se ustavi.",
                "submitted_at": old.isoformat(),
                "messages": [message],
            },
            {
                "reference": f"STARI-{tag}-2",
                "state": "resolved",
                "requester_email": email,
                "subject": f"Rešen s prilogo {tag}",
                "body": "Kako izpišem?",
                "submitted_at": (old - timedelta(days=30)).isoformat(),
                "resolved_at": (old - timedelta(days=29)).isoformat(),
                "resolution": "Po navodilih v prilogi.",
                "messages": [
                    {
                        "author_role": "consultant",
                        "author_name": "Svetovalka Maja",
                        "body": "Navodila so v prilogi.",
                        "posted_at": (old - timedelta(days=29)).isoformat(),
                        "attachments": [
                            {"name": "Navodila.pdf", "sha256": hashlib.sha256(pdf).hexdigest()}
                        ],
                    }
                ],
            },
        ],
    }


async def test_the_old_portals_files_come_with_the_imported_tickets(
    gateway: httpx.AsyncClient,
    stack: Stack,
    signed_in: SignedIn,
    customer: dict[str, str],
    consultant: dict[str, str],
    vendor_admin: dict[str, str],
    admin_dsn_for: Any,
) -> None:
    tag = uuid.uuid4().hex[:8]
    png, pdf = PNG + tag.encode(), PDF + tag.encode()  # files of their own, for this test
    org = await create_organization(gateway, vendor_admin)
    person = await create_user(gateway, vendor_admin, org_id=org)
    document = _legacy_document(tag, person["email"], png, pdf)

    def upload(headers: dict[str, str], name: str, content: bytes) -> Any:
        return gateway.post(
            "/api/content/attachments/imports",
            params={"name": name, "sha256": hashlib.sha256(content).hexdigest()},
            content=content,
            headers=headers,
        )

    for someone in (customer, consultant):
        assert (await upload(someone, "posnetek.png", png)).status_code == 403
    refusals = {
        "a PNG named .pdf": (415, "Navodila.pdf", png),
        "a name that is a path": (422, "../posnetek.png", png),
        "larger than the limit": (413, "arhiv.zip", b"PK\x03\x04" + b"\x00" * (2 << 20)),
    }
    for case, (status, name, content) in refusals.items():
        assert (await upload(vendor_admin, name, content)).status_code == status, case
    assert not await fetch(
        admin_dsn_for("content"),
        """SELECT a.file_id FROM attachments a JOIN files f ON f.id = a.file_id
            WHERE a.uploaded_by = $1 AND f.name IN ('Navodila.pdf', 'arhiv.zip')""",
        VENDOR_ADMIN.id,
    )
    # Another vendor admin's upload is not this admin's to import.
    other_admin = await create_user(gateway, vendor_admin, roles=["vendor_admin"])
    await set_password(gateway, stack, other_admin["email"], "geslo drugega skrbnika")
    other = bearer(await sign_in(gateway, other_admin["email"], "geslo drugega skrbnika"))
    assert (await upload(other, "Navodila.pdf", pdf)).status_code == 201
    shot = await upload(vendor_admin, "posnetek.png", png)
    assert shot.status_code == 201, shot.text
    assert shot.json()["ticket_id"] is None

    async def attempt() -> Any:
        # The tickets service learns of the user and the upload from events; wait until it has.
        response = await gateway.post("/api/tickets/import", json=document, headers=vendor_admin)
        waiting = any(word in response.text for word in ("e-mail", "posnetek.png"))
        return None if response.status_code == 422 and waiting else response

    refused = await eventually(attempt, what="the import to be judged on its files")
    assert refused.status_code == 422
    assert [e["msg"] for e in refused.json()["errors"]] == [
        f"tickets[1] (STARI-{tag}-2).messages[0].attachments[0]: 'Navodila.pdf' (SHA-256 "
        f"{hashlib.sha256(pdf).hexdigest()}) has not been uploaded for the import by you "
        "(POST /api/content/attachments/imports), or is named more often than it was uploaded"
    ]
    assert not await fetch(
        admin_dsn_for("tickets"),
        "SELECT id FROM tickets WHERE legacy_reference LIKE $1",
        f"STARI-{tag}-%",
    )

    assert (await upload(vendor_admin, "Navodila.pdf", pdf)).status_code == 201

    result = await imported(gateway, vendor_admin, document)
    assert result == {"live_created": 1, "archived": 1, "unchanged": 0, "attachments": 2}
    again = await gateway.post("/api/tickets/import", json=document, headers=vendor_admin)
    assert again.json() == {"live_created": 0, "archived": 0, "unchanged": 2, "attachments": 0}

    await set_password(gateway, stack, person["email"], "geslo iz starega portala")
    them = bearer(await sign_in(gateway, person["email"], "geslo iz starega portala"))
    [live] = (await gateway.get(f"/api/tickets?q={tag}", headers=them)).json()["items"]
    [message] = (await ticket_detail(gateway, them, live["id"]))["messages"]
    [shown] = message["attachments"]
    assert (shown["id"], shown["name"], shown["media_type"]) == (
        shot.json()["id"],
        "posnetek.png",
        "image/png",
    )
    [entry] = (await gateway.get(f"/api/tickets/archive?q={tag}", headers=them)).json()["items"]
    [archived_file] = entry["messages"][0]["attachments"]
    assert archived_file["name"] == "Navodila.pdf"

    async def downloadable() -> Any:
        answers = [await gateway.get(f["url"], headers=them) for f in (shown, archived_file)]
        return answers if all(a.status_code == 200 for a in answers) else None

    answers = await eventually(downloadable, what="the imported files shown with their tickets")
    assert [a.content for a in answers] == [png, pdf]
    admin = await signed_in.headers(VENDOR_ADMIN.email)
    for url in (shown["url"], archived_file["url"]):
        assert (await gateway.get(url, headers=customer)).status_code == 404
        assert (await gateway.get(url, headers=admin)).status_code == 200
