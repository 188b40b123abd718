"""Contract tests: stored events of every published version must stay readable.

The fixtures in `fixtures/` are frozen history, written out by hand: complete envelopes as a
producer stored them. They are never regenerated from today's models. A failure here means a
change to `contracts/` broke readers of events that already exist; make a new event version instead.
`<EventType>.v<version>.json` is the version as first published; an optional field added later
gets a fixture of its own, `<EventType>.v<version>.<what>.json`, so both shapes stay read.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.__main__ import export_schemas
from contracts.accounts import PasswordResetRequested
from contracts.billing import TicketClassified
from contracts.common import Person, RuleHit
from contracts.envelope import EventEnvelope, new_envelope
from contracts.registry import (
    EVENT_MODELS,
    TOPIC_OF_EVENT,
    UnknownEventTypeError,
    UnsupportedEventVersionError,
    key_of,
    model_for,
)
from contracts.tickets import TicketCreated, TicketMessagePosted
from contracts.topics import ALL_TOPICS, DEAD_LETTER

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE_NAME = re.compile(r"^(?P<type>[A-Za-z]+)\.v(?P<version>\d+)(?:\.[a-z0-9-]+)?\.json$")
FIXTURE_FILES = sorted(FIXTURES.glob("*.json"))

MOMENT = datetime(2026, 11, 24, 10, 15, tzinfo=UTC)  # occurred_at of the envelopes built here


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _fixture_key(path: Path) -> tuple[str, int]:
    match = FIXTURE_NAME.match(path.name)
    assert match, f"{path.name} is not named <EventType>.v<version>[.<what>].json"
    return match["type"], int(match["version"])


def _ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


def _aggregate_of(payload: Any) -> uuid.UUID:
    for name in ("attachment_id", "ticket_id", "user_id", "release_id"):
        if hasattr(payload, name):
            return getattr(payload, name)  # type: ignore[no-any-return]
    if hasattr(payload, "user"):
        return payload.user.user_id  # type: ignore[no-any-return]
    return payload.org_id  # type: ignore[no-any-return]


def _envelope_json(**overrides: Any) -> str:
    data: dict[str, Any] = {
        "event_id": "9f630926-61e8-48e5-8362-837c1b142049",
        "event_type": "TicketResolved",
        "event_version": 1,
        "occurred_at": "2026-11-24T10:15:00Z",
        "source": "tickets",
        "aggregate_id": "3f61efdc-0591-4da3-91a2-e32794baf6c9",
        "aggregate_version": 3,
        "org_id": None,
        "correlation_id": "req-1",
        "causation_id": None,
        "payload": {},
    }
    data.update(overrides)
    return json.dumps(data)


def test_there_is_a_fixture_for_every_event_model() -> None:
    assert FIXTURE_FILES, "no fixtures found"
    assert {_fixture_key(path) for path in FIXTURE_FILES} >= set(EVENT_MODELS)


@pytest.mark.parametrize("event_key", sorted(EVENT_MODELS), ids=lambda key: f"{key[0]}.v{key[1]}")
def test_every_published_event_version_has_a_stored_fixture(event_key: tuple[str, int]) -> None:
    event_type, version = event_key
    assert (FIXTURES / f"{event_type}.v{version}.json").is_file()


@pytest.mark.parametrize("event_type", sorted({key[0] for key in EVENT_MODELS}))
def test_every_event_type_is_published_to_a_topic(event_type: str) -> None:
    assert TOPIC_OF_EVENT.get(event_type) in set(ALL_TOPICS) - {DEAD_LETTER}


@pytest.mark.parametrize("topic", sorted(set(ALL_TOPICS) - {DEAD_LETTER}))
def test_every_topic_but_the_dead_letter_carries_some_event(topic: str) -> None:
    assert topic in set(TOPIC_OF_EVENT.values())


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=_ids(FIXTURE_FILES))
def test_stored_envelope_and_payload_are_still_readable(path: Path) -> None:
    envelope = EventEnvelope.model_validate_json(path.read_text(encoding="utf-8"))
    assert (envelope.event_type, envelope.event_version) == _fixture_key(path)

    model = model_for(envelope.event_type, envelope.event_version)
    payload = model.model_validate(envelope.payload)

    assert isinstance(payload, model)
    assert envelope.event_type == model.EVENT_TYPE
    assert envelope.event_version == model.EVENT_VERSION
    # Every event is keyed by the aggregate it is about: a ticket, a user, an organization or a
    # release; a release belongs to no one organization.
    aggregate = _aggregate_of(payload)
    assert str(aggregate) == envelope.aggregate_id == envelope.key
    assert getattr(payload, "org_id", None) == envelope.org_id


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=_ids(FIXTURE_FILES))
def test_readers_ignore_fields_added_by_newer_producers(path: Path) -> None:
    stored = _load(path)
    stored["tenant_region"] = "eu-central"
    stored["payload"]["priority"] = "high"
    for reason in stored["payload"].get("reasons", []):
        reason["severity"] = 3
    if "requester" in stored["payload"]:
        stored["payload"]["requester"]["phone"] = "+386 1 234 56 78"

    envelope = EventEnvelope.model_validate_json(json.dumps(stored))
    payload = model_for(envelope.event_type, envelope.event_version).model_validate(
        envelope.payload
    )

    original = _load(path)
    expected = model_for(original["event_type"], original["event_version"]).model_validate(
        original["payload"]
    )
    assert payload == expected
    assert not hasattr(envelope, "tenant_region")


@pytest.mark.parametrize(
    ("event_key", "field"),
    [
        (("TicketCreated", 1), "program"),
        (("TicketCreated", 1), "recorded_by"),
        (("TicketClassified", 1), "deferred_until"),
        (("TicketDecisionRecorded", 1), "deferred_until"),
        (("TicketResolved", 1), "doc_reference"),
    ],
    ids=lambda value: value if isinstance(value, str) else f"{value[0]}.v{value[1]}",
)
def test_fields_that_v1_producers_could_leave_null_are_still_read_as_null(
    event_key: tuple[str, int], field: str
) -> None:
    event_type, version = event_key
    stored = _load(FIXTURES / f"{event_type}.v{version}.json")
    stored["payload"][field] = None
    stored["causation_id"] = None
    stored["org_id"] = None

    envelope = EventEnvelope.model_validate_json(json.dumps(stored))
    payload = model_for(event_type, version).model_validate(envelope.payload)

    assert getattr(payload, field) is None
    assert envelope.causation_id is None
    assert envelope.org_id is None


def test_stored_ticket_created_keeps_its_values() -> None:
    envelope = EventEnvelope.model_validate_json(
        (FIXTURES / "TicketCreated.v1.json").read_text(encoding="utf-8")
    )
    created = TicketCreated.model_validate(envelope.payload)

    assert created.number == 1042
    assert created.channel == "portal"
    assert created.subject == "Obračun plač se ne zaključi"
    assert created.requester == Person(
        user_id=uuid.UUID("40806fb9-17b4-50da-9e43-a039810eda37"),
        email="ana.novak@demo.example",
        display_name="Ana Novak",
        language="sl",
    )
    assert created.recorded_by is None
    assert created.submitted_at == datetime(2026, 11, 28, 10, 0, 2, 981000, tzinfo=UTC)


def test_a_message_stored_before_attachments_existed_reads_as_one_without_any() -> None:
    def read(name: str) -> TicketMessagePosted:
        envelope = EventEnvelope.model_validate_json((FIXTURES / name).read_text(encoding="utf-8"))
        return TicketMessagePosted.model_validate(envelope.payload)

    assert read("TicketMessagePosted.v1.json").attachment_ids == ()
    assert read("TicketMessagePosted.v1.attachments.json").attachment_ids == (
        uuid.UUID("8c3a5f21-6e0b-4d97-a2c8-3b1e9f7d0a64"),
        uuid.UUID("e17b2d9c-4a05-4f38-9c6e-d2a8b0f15c73"),
    )


def test_stored_ticket_classified_keeps_reasons_in_order_and_the_deferral() -> None:
    envelope = EventEnvelope.model_validate_json(
        (FIXTURES / "TicketClassified.v1.json").read_text(encoding="utf-8")
    )
    classified = TicketClassified.model_validate(envelope.payload)

    assert classified.decision == "free"
    assert [reason.code for reason in classified.reasons] == ["R-OUTSIDE-HOURS", "F-SHORT-USAGE"]
    assert classified.deferred_until == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def test_model_for_rejects_an_unknown_event_type() -> None:
    with pytest.raises(UnknownEventTypeError):
        model_for("TicketTeleported", 1)


def test_model_for_rejects_an_unsupported_version_of_a_known_type() -> None:
    with pytest.raises(UnsupportedEventVersionError):
        model_for("TicketCreated", 99)


def test_unsupported_version_is_not_reported_as_an_unknown_type() -> None:
    with pytest.raises(LookupError) as caught:
        model_for("TicketClassified", 99)
    assert not isinstance(caught.value, UnknownEventTypeError)


def test_envelope_with_a_naive_occurred_at_is_rejected() -> None:
    with pytest.raises(ValidationError):
        EventEnvelope.model_validate_json(_envelope_json(occurred_at="2026-11-24T10:15:00"))


def test_envelope_occurred_at_with_an_offset_is_normalised_to_utc() -> None:
    envelope = EventEnvelope.model_validate_json(
        _envelope_json(occurred_at="2026-06-15T12:30:00+02:00")
    )
    assert envelope.occurred_at == datetime(2026, 6, 15, 10, 30, tzinfo=UTC)
    assert envelope.occurred_at.utcoffset() == timedelta(0)
    assert envelope.model_dump(mode="json")["occurred_at"].startswith("2026-06-15T10:30:00")


def test_export_schemas_writes_envelope_schema_and_one_schema_per_event_version(
    tmp_path: Path,
) -> None:
    target = tmp_path / "schemas"
    written = export_schemas(target)

    expected = {"EventEnvelope.schema.json"} | {
        f"{event_type}.v{version}.schema.json" for event_type, version in EVENT_MODELS
    }
    assert {path.name for path in target.iterdir()} == expected
    assert sorted(written) == sorted(target.iterdir())

    envelope_schema = json.loads((target / "EventEnvelope.schema.json").read_text())
    assert "payload" in envelope_schema["properties"]

    for (event_type, version), model in EVENT_MODELS.items():
        schema = json.loads((target / f"{event_type}.v{version}.schema.json").read_text())
        assert schema["x-event-type"] == event_type
        assert schema["x-event-version"] == version
        assert schema["x-topic"] == TOPIC_OF_EVENT[event_type]
        assert set(schema["properties"]) == set(model.model_fields)


def test_new_envelope_stores_the_payload_as_json_ready_data() -> None:
    ticket_id = uuid.UUID("3f61efdc-0591-4da3-91a2-e32794baf6c9")
    org_id = uuid.UUID("e9b30804-fdf7-5f02-a95b-e2437b56ea1b")
    decided_at = datetime(2026, 11, 24, 9, 0, tzinfo=timezone(timedelta(hours=1)))
    classified = TicketClassified(
        ticket_id=ticket_id,
        org_id=org_id,
        stage="provisional",
        decision="paid",
        reasons=(RuleHit(code="P-CHANNEL", effect="paid", explanation="Submitted by phone."),),
        policy_version="2026.11-provisional.1",
        decided_at=decided_at,
    )

    envelope = new_envelope(
        classified,
        source="billing",
        aggregate_id=str(ticket_id),
        aggregate_version=1,
        org_id=org_id,
        correlation_id="req-42",
        occurred_at=MOMENT,
    )

    assert envelope.payload["ticket_id"] == str(ticket_id)
    assert isinstance(envelope.payload["decided_at"], str)
    assert envelope.payload["reasons"] == [
        {
            "code": "P-CHANNEL",
            "effect": "paid",
            "explanation": "Submitted by phone.",
            "explanation_sl": None,
        }
    ]
    json.dumps(envelope.payload)  # no uuid or datetime objects left
    assert envelope.key == str(ticket_id)
    assert envelope.occurred_at.tzinfo is not None
    assert TicketClassified.model_validate(envelope.payload) == classified


def test_new_envelope_round_trips_through_json_with_a_fresh_event_id() -> None:
    payload = TicketClassified(
        ticket_id=uuid.uuid4(),
        org_id=uuid.uuid4(),
        stage="final",
        decision="free",
        reasons=(),
        policy_version="v",
        decided_at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    )
    first, second = (
        new_envelope(
            payload,
            event_type="TicketClassified",
            event_version=1,
            source="billing",
            aggregate_id=str(payload.ticket_id),
            aggregate_version=2,
            org_id=payload.org_id,
            correlation_id="req-7",
            occurred_at=MOMENT,
        )
        for _ in range(2)
    )

    assert first.event_id != second.event_id
    assert EventEnvelope.model_validate_json(first.model_dump_json()) == first


def test_reset_link_is_hidden_from_reprs_and_revealed_only_in_json() -> None:
    stored = _load(FIXTURES / "PasswordResetRequested.v1.json")
    url = stored["payload"]["reset_url"]
    requested = PasswordResetRequested.model_validate(stored["payload"])

    assert url not in repr(requested) and url not in str(requested)
    assert url not in str(requested.model_dump())
    assert json.loads(requested.model_dump_json())["reset_url"] == url
    envelope = new_envelope(
        requested,
        source="auth",
        aggregate_id=str(requested.user.user_id),
        aggregate_version=2,
        org_id=requested.org_id,
        correlation_id="req-1",
        occurred_at=MOMENT,
    )
    assert envelope.payload["reset_url"] == url


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=_ids(FIXTURE_FILES))
def test_a_stored_event_is_keyed_and_published_as_its_class_says(path: Path) -> None:
    envelope = EventEnvelope.model_validate_json(path.read_text(encoding="utf-8"))
    model = model_for(envelope.event_type, envelope.event_version)

    assert key_of(model).of(model.model_validate(envelope.payload)) == envelope.aggregate_id
    assert TOPIC_OF_EVENT[envelope.event_type] == model.TOPIC
