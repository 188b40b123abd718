"""The pure rules of attachments: which files a message may carry (tickets, then content), which
uploads an import names, and which files an attachment may be."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.content import attachments as content_rules
from services.content.attachment_repository import Attachment as Stored
from services.content.filetypes import UnsupportedTypeError, check_bytes, type_for
from services.tickets import attachments as ticket_rules
from services.tickets.attachments import Attachment, AttachmentsRefusedError, FileReference

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
TICKET, OTHER_TICKET = uuid.uuid4(), uuid.uuid4()
ANA, MARKO = uuid.uuid4(), uuid.uuid4()


def _known(
    *, ticket: uuid.UUID | None = TICKET, by: uuid.UUID = ANA, **fields: object
) -> Attachment:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "ticket_id": ticket,
        "uploaded_by": by,
        "name": "posnetek.png",
        "media_type": "image/png",
        "size": 100,
        "sha256": "a" * 64,
        "uploaded_at": T0,
        **fields,
    }
    return Attachment(**values)  # type: ignore[arg-type]


def test_a_message_carries_its_authors_own_uploads_to_its_ticket_in_the_order_named() -> None:
    first, second = _known(), _known()
    found = {a.id: a for a in (first, second)}

    carried = ticket_rules.for_message(
        found, [second.id, first.id], ticket_id=TICKET, poster_id=ANA
    )

    assert carried == (second, first)


def test_every_file_a_message_cannot_carry_is_named_and_they_all_read_alike() -> None:
    foreign = _known(ticket=OTHER_TICKET)
    theirs = _known(by=MARKO)
    taken = _known(message_id=uuid.uuid4())
    unknown = uuid.uuid4()
    found = {a.id: a for a in (foreign, theirs, taken)}

    with pytest.raises(AttachmentsRefusedError) as refused:
        ticket_rules.for_message(
            found, [foreign.id, theirs.id, unknown, taken.id], ticket_id=TICKET, poster_id=ANA
        )

    problems = refused.value.problems
    assert [p.split(":")[0] for p in problems] == [
        str(foreign.id),
        str(theirs.id),
        str(unknown),
        str(taken.id),
    ]
    # Another ticket's, another person's and a made-up id are told apart by nothing.
    assert len({p.split(": ", 1)[1] for p in problems[:3]}) == 1
    assert problems[3].endswith("attached to a message already")


def test_a_file_named_twice_is_refused() -> None:
    mine = _known()
    with pytest.raises(AttachmentsRefusedError, match="more than once"):
        ticket_rules.for_message(
            {mine.id: mine}, [mine.id, mine.id], ticket_id=TICKET, poster_id=ANA
        )


def test_an_import_takes_each_upload_once_oldest_first_by_name_and_checksum() -> None:
    older = _known(ticket=None, uploaded_at=T0)
    newer = _known(ticket=None, uploaded_at=T0 + timedelta(minutes=1))
    other_name = _known(ticket=None, name="drugo.png")
    on_a_ticket = _known()
    used = _known(ticket=None, archived_id=uuid.uuid4())
    wanted = [FileReference(f"m[{i}]", "posnetek.png", "a" * 64) for i in range(3)]

    matched, problems = ticket_rules.match_import_files(
        wanted, [newer, used, other_name, on_a_ticket, older]
    )

    assert matched == [older, newer]
    assert len(problems) == 1 and problems[0].startswith("m[2]: 'posnetek.png'")


def _stored(**fields: object) -> Stored:
    values: dict[str, object] = {
        "file_id": uuid.uuid4(),
        "ticket_id": TICKET,
        "org_id": uuid.uuid4(),
        "uploaded_by": ANA,
        "state": "pending",
        "message_id": None,
        "internal": False,
        "bound_at": None,
        **fields,
    }
    return Stored(**values)  # type: ignore[arg-type]


def test_content_binds_pending_files_skips_expired_and_a_redelivery_changes_nothing() -> None:
    message = uuid.uuid4()
    pending, expired = _stored(), _stored(state="expired")
    again = _stored(state="bound", message_id=message)
    found = {a.file_id: a for a in (pending, expired, again)}

    binding = content_rules.for_message(
        found,
        [pending.file_id, expired.file_id, again.file_id],
        ticket_id=TICKET,
        author_id=ANA,
        message_id=message,
    )

    assert binding.to_bind == ((pending.file_id, message),)
    assert binding.expired == (expired.file_id,)


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"ticket_id": OTHER_TICKET}, "uploaded for another ticket"),
        ({"uploaded_by": MARKO}, "uploaded by someone else"),
        ({"state": "bound", "message_id": uuid.uuid4()}, "attached to another message already"),
    ],
)
def test_content_refuses_an_event_naming_a_file_it_cannot_take(
    fields: dict[str, object], problem: str
) -> None:
    attachment = _stored(**fields)
    with pytest.raises(content_rules.NotBindableError, match=problem):
        content_rules.for_message(
            {attachment.file_id: attachment},
            [attachment.file_id],
            ticket_id=TICKET,
            author_id=ANA,
            message_id=uuid.uuid4(),
        )


def test_content_binds_an_imported_file_only_if_the_importer_uploaded_it_for_the_import() -> None:
    for_import, on_a_ticket = _stored(ticket_id=None, org_id=None), _stored()
    message = uuid.uuid4()

    binding = content_rules.for_import(
        {for_import.file_id: for_import},
        [(for_import.file_id, message)],
        ticket_id=TICKET,
        imported_by=ANA,
    )
    assert binding.to_bind == ((for_import.file_id, message),)
    with pytest.raises(content_rules.NotBindableError, match="another ticket"):
        content_rules.for_import(
            {on_a_ticket.file_id: on_a_ticket},
            [(on_a_ticket.file_id, None)],
            ticket_id=TICKET,
            imported_by=ANA,
        )


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("Posnetek.JPEG", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64),
        ("zaslon.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64),
        ("obracun.docx", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64),
        ("izvoz.csv", "šifra;znesek\n1;12,50\n".encode()),
        ("nastavitve.xml", b'<?xml version="1.0"?><a/>'),
    ],
)
def test_an_attachment_of_an_allowed_type_passes(name: str, content: bytes) -> None:
    check_bytes(type_for("attachment", name), content, complete=True)


@pytest.mark.parametrize("name", ["stran.html", "slika.svg", "popravek.exe", "skripta.js"])
def test_what_a_browser_or_computer_would_run_is_not_an_attachment(name: str) -> None:
    with pytest.raises(UnsupportedTypeError):
        type_for("attachment", name)


def test_the_content_type_a_windows_browser_sends_for_a_zip_or_csv_is_accepted() -> None:
    assert type_for("attachment", "a.zip").accepts_declared("application/x-zip-compressed")
    assert type_for("attachment", "a.csv").accepts_declared("application/vnd.ms-excel")
    assert not type_for("attachment", "a.png").accepts_declared("text/html")
