"""Faults the delivery guarantees must survive (docs/reliability.md, "How it is tested")."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import uuid
from datetime import datetime

import httpx
import pytest

from contracts.topics import BILLING_EVENTS, DEAD_LETTER, TICKETS_EVENTS
from devstack.infra import EmbeddedInfrastructure
from devstack.smtp import CapturedEmail
from devstack.stack import Stack
from devstack.status import Samples, parse_metrics, total
from services.runtime.clock import ControlledClock
from services.runtime.failpoints import CRASH_EXIT_CODE
from tests.e2e.helpers import (
    decided_ticket,
    mails_about,
    new_correlation_id,
    one_mail_about,
    outbox_envelope,
    submit_ticket,
    wait_committed_past,
)
from tests.support import eventually, fetch, produce, read_topic

pytestmark = pytest.mark.stack


@pytest.fixture
def infra(stack: Stack) -> EmbeddedInfrastructure:
    """The stack's own PostgreSQL and broker, which a test may stop or freeze (skipped on other
    infrastructure)."""
    if not isinstance(stack.infrastructure, EmbeddedInfrastructure):
        pytest.skip(
            "stopping or freezing PostgreSQL or the broker needs the embedded infrastructure"
        )
    return stack.infrastructure


async def test_the_same_event_delivered_twice_has_one_effect(
    stack: Stack, gateway: httpx.AsyncClient, customer: dict[str, str], admin_dsn_for
) -> None:
    created = await submit_ticket(gateway, customer)
    await one_mail_about(stack, created["id"])
    envelope = await outbox_envelope(admin_dsn_for("tickets"), "TicketCreated", created["id"])
    assert stack.endpoints is not None

    partition, offset = await produce(
        stack.endpoints.kafka_bootstrap,
        TICKETS_EVENTS,
        json.dumps(envelope).encode(),
        key=created["id"].encode(),
        headers=[("event_type", b"TicketCreated")],
    )
    await wait_committed_past(stack, "billing", TICKETS_EVENTS, partition, offset)

    decisions = await fetch(
        admin_dsn_for("billing"),
        "SELECT * FROM decisions WHERE ticket_id = $1",
        uuid.UUID(created["id"]),
    )
    classified = await fetch(
        admin_dsn_for("billing"),
        "SELECT 1 FROM outbox WHERE event_type = 'TicketClassified' AND message_key = $1",
        created["id"],
    )
    assert len(decisions) == 1
    assert len(classified) == 1
    assert len(mails_about(stack, created["id"])) == 1


def _envelope(event_type: str, version: int, payload: dict, key: str, now: datetime) -> bytes:
    return json.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "event_version": version,
            "occurred_at": now.isoformat(),
            "source": "test",
            "aggregate_id": key,
            "aggregate_version": 1,
            "org_id": str(uuid.uuid4()),
            "correlation_id": new_correlation_id(),
            "causation_id": None,
            "payload": payload,
        }
    ).encode()


async def test_poison_messages_are_dead_lettered_and_the_partition_keeps_flowing(
    stack: Stack, admin_dsn_for, clock: ControlledClock
) -> None:
    now = clock.now()
    assert stack.endpoints is not None
    bootstrap = stack.endpoints.kafka_bootstrap
    ticket_id = str(uuid.uuid4())
    org_id = str(uuid.uuid4())
    key = ticket_id.encode()
    valid_payload = {
        "ticket_id": ticket_id,
        "number": 999999,
        "org_id": org_id,
        "requester": {"user_id": str(uuid.uuid4()), "email": "x@example.com", "display_name": "X"},
        "channel": "email",
        "subject": "Po poplavi",
        "body": "Besedilo",
        "submitted_at": now.isoformat(),
    }
    # (expected reason, value, headers): FastStream must not decode bodies or headers itself, or
    # these would block the partition (content-type) or lose the batch (bad header bytes).
    poison = [
        ("undecodable", b"\xff\xfe definitely not json", []),
        ("undecodable", b"not json either", [("content-type", b"application/json")]),
        ("undecodable", b"{broken", [("correlation_id", b"\xff\xfe"), ("trace", None)]),
        ("unknown-type", _envelope("TicketTeleported", 1, {}, ticket_id, now), []),
        ("unsupported-version", _envelope("TicketCreated", 99, valid_payload, ticket_id, now), []),
        (
            "invalid-payload",
            _envelope("TicketCreated", 1, {"ticket_id": "nope"}, ticket_id, now),
            [],
        ),
    ]
    expected = {}
    for reason, value, headers in poison:
        partition, offset = await produce(
            bootstrap, TICKETS_EVENTS, value, key=key, headers=headers
        )
        expected[(partition, offset)] = reason
    # The next message on the same partition: a valid ticket event from a foreign producer.
    await produce(
        bootstrap,
        TICKETS_EVENTS,
        _envelope("TicketCreated", 1, valid_payload, ticket_id, now),
        key=key,
        headers=[],
    )

    async def classified() -> list:
        return await fetch(
            admin_dsn_for("billing"),
            "SELECT decision FROM decisions WHERE ticket_id = $1",
            uuid.UUID(ticket_id),
        )

    assert (await eventually(classified, what="billing to classify the valid message"))[0][
        "decision"
    ] == "paid"

    async def dead_letters() -> list:
        records = await read_topic(bootstrap, DEAD_LETTER)
        return [r for r in records if r.key == key]

    def by_consumer(records: list, consumer: str) -> dict[tuple[int, int], dict[str, str]]:
        out = {}
        for r in records:
            headers = {k: (v or b"").decode(errors="replace") for k, v in r.headers}
            if headers["dlq_consumer"] == consumer:
                origin = (
                    int(headers["dlq_original_partition"]),
                    int(headers["dlq_original_offset"]),
                )
                out[origin] = headers
        return out

    async def all_dead_lettered() -> list:
        records = await dead_letters()
        billing = by_consumer(records, "billing")
        tickets = by_consumer(records, "tickets")
        missing = [h for h in tickets.values() if h["dlq_reason"] == "dependency-missing"]
        return records if set(billing) >= set(expected) and missing else []

    records = await eventually(all_dead_lettered, timeout=45, what="dead letters for every poison")
    for consumer in ("billing", "notify"):  # both read tickets.events
        letters = by_consumer(records, consumer)
        for origin, reason in expected.items():
            assert letters[origin]["dlq_reason"] == reason, (consumer, origin)
            assert letters[origin]["dlq_original_topic"] == TICKETS_EVENTS
            assert letters[origin]["dlq_error"]
    # The tickets service knows no such ticket: billing's decision about it is parked (the
    # partition flows on), tried again, and dead-lettered once it has waited PARKED_MAX_AGE_S.
    [missing] = [
        h
        for h in by_consumer(records, "tickets").values()
        if h["dlq_reason"] == "dependency-missing"
    ]
    assert missing["dlq_original_topic"] == BILLING_EVENTS
    assert "not seen yet" in missing["dlq_error"]
    assert not await fetch(
        admin_dsn_for("tickets"), "SELECT 1 FROM parked WHERE message_key = $1", ticket_id
    )


@pytest.mark.parametrize(
    ("failpoint", "committed_before_crash"),
    [
        ("consumer.after_commit", 1),  # after its transaction, before the offset commit
        ("consumer.inside_transaction", 0),  # effects written, transaction not committed
    ],
)
async def test_consumer_killed_mid_message_has_exactly_one_effect_after_restart(
    stack: Stack,
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    admin_dsn_for,
    failpoint: str,
    committed_before_crash: int,
) -> None:
    correlation_id = new_correlation_id()
    await stack.restart(
        "billing",
        extra_env={"TICKETING_FAILPOINT": failpoint, "TICKETING_FAILPOINT_MATCH": correlation_id},
    )
    billing = stack.processes["billing"]
    try:
        created = await submit_ticket(gateway, customer, correlation_id=correlation_id)

        async def crashed() -> bool:
            return not billing.running()

        await eventually(crashed, timeout=30, what="billing to crash at the failpoint")
        assert billing.process is not None and billing.process.returncode == CRASH_EXIT_CODE
        committed_decision = await fetch(
            admin_dsn_for("billing"),
            "SELECT 1 FROM decisions WHERE ticket_id = $1",
            uuid.UUID(created["id"]),
        )
        assert len(committed_decision) == committed_before_crash
    finally:
        await stack.restart("billing")

    await decided_ticket(gateway, customer, created["id"])
    await one_mail_about(stack, created["id"])
    await asyncio.sleep(1.0)
    classified = await fetch(
        admin_dsn_for("billing"),
        "SELECT 1 FROM outbox WHERE event_type = 'TicketClassified' AND message_key = $1",
        created["id"],
    )
    assert len(classified) == 1
    assert len(mails_about(stack, created["id"])) == 1


async def test_broker_frozen_while_tickets_are_created_loses_and_duplicates_nothing(
    stack: Stack,
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    admin_dsn_for,
    infra: EmbeddedInfrastructure,
) -> None:
    infra.pause_broker()
    try:
        created = [
            await submit_ticket(gateway, customer, subject=f"Med izpadom {i}") for i in range(5)
        ]
        await asyncio.sleep(2.0)
        unpublished = await fetch(
            admin_dsn_for("tickets"),
            "SELECT 1 FROM outbox WHERE published_at IS NULL AND message_key = ANY($1::text[])",
            [t["id"] for t in created],
        )
        assert len(unpublished) == 5  # stored, waiting for the broker
    finally:
        infra.resume_broker()

    for ticket in created:
        await decided_ticket(gateway, customer, ticket["id"], timeout=90)
        await one_mail_about(stack, ticket["id"], timeout=60)
    await asyncio.sleep(2.0)
    for ticket in created:
        assert len(mails_about(stack, ticket["id"])) == 1
        decisions = await fetch(
            admin_dsn_for("billing"),
            "SELECT 1 FROM decisions WHERE ticket_id = $1",
            uuid.UUID(ticket["id"]),
        )
        assert len(decisions) == 1


async def test_a_frozen_broker_keeps_every_service_ready_and_shows_in_health_and_metrics(
    stack: Stack,
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    infra: EmbeddedInfrastructure,
) -> None:
    tickets = stack.urls["tickets"]
    infra.pause_broker()
    try:
        async with httpx.AsyncClient(timeout=5) as client:

            async def broker_reported_down() -> bool:
                health = (await client.get(f"{tickets}/healthz")).json()
                return bool(health["broker"] == "unavailable")

            await eventually(broker_reported_down, timeout=20, what="/healthz to see the broker")
            created = await submit_ticket(gateway, customer, subject="Med zamrznjenim brokerjem")

            async def backlog_shown() -> Samples | None:
                samples = parse_metrics((await client.get(f"{tickets}/metrics")).text)
                waiting = total(samples, "ticketing_outbox_waiting_events")
                return samples if waiting >= 1 else None

            samples = await eventually(backlog_shown, timeout=20, what="the outbox backlog")
            assert total(samples, "ticketing_broker_up") == 0
            assert total(samples, "ticketing_outbox_oldest_waiting_age_seconds") > 0
            for name, url in stack.urls.items():
                ready = await client.get(f"{url}/readyz")
                assert ready.status_code == 200, (name, ready.text)
                assert (await client.get(f"{url}/healthz")).status_code == 200, name
                if name != "gateway":
                    assert ready.json()["broker"] == "unavailable", name
    finally:
        infra.resume_broker()
    await decided_ticket(gateway, customer, created["id"], timeout=90)

    async def backlog_gone() -> bool:
        async with httpx.AsyncClient(timeout=5) as client:
            samples = parse_metrics((await client.get(f"{tickets}/metrics")).text)
        return (
            total(samples, "ticketing_outbox_waiting_events") == 0
            and total(samples, "ticketing_broker_up") == 1
        )

    await eventually(backlog_gone, timeout=30, what="the outbox to drain after the freeze")


async def test_sigterm_stops_a_service_cleanly_and_its_work_resumes_after_restart(
    stack: Stack, gateway: httpx.AsyncClient, customer: dict[str, str], admin_dsn_for
) -> None:
    billing = stack.processes["billing"]
    created = [await submit_ticket(gateway, customer, subject="Pred ustavitvijo")]
    stopping = asyncio.create_task(asyncio.to_thread(billing.stop))  # SIGTERM, graceful
    created += [
        await submit_ticket(gateway, customer, subject=f"Med ustavitvijo {i}") for i in range(3)
    ]
    exit_code = await stopping

    assert exit_code in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM after its clean shutdown
    log = (stack.log_dir / "billing.log").read_text()
    assert '"service stopped"' in log.split('"service stopping: finishing in-flight work"')[-1]
    await stack.restart("billing")
    for ticket in created:
        await decided_ticket(gateway, customer, ticket["id"], timeout=60)
        decisions = await fetch(
            admin_dsn_for("billing"),
            "SELECT 1 FROM decisions WHERE ticket_id = $1",
            uuid.UUID(ticket["id"]),
        )
        assert len(decisions) == 1
        await one_mail_about(stack, ticket["id"])
        assert len(mails_about(stack, ticket["id"])) == 1


async def test_services_answer_503_while_postgres_is_down_and_recover_without_restart(
    stack: Stack,
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    infra: EmbeddedInfrastructure,
) -> None:
    await asyncio.to_thread(infra.stop_postgres)
    try:
        down = await gateway.post(
            "/api/tickets", json={"subject": "s", "body": "b"}, headers=customer
        )
        async with httpx.AsyncClient(timeout=10) as client:
            ready = await client.get(f"{stack.urls['tickets']}/readyz")
        assert down.status_code == 503
        assert "unavailable" in down.json()["detail"]
        assert ready.status_code == 503
        assert ready.json()["database"] == "unavailable"
    finally:
        await asyncio.to_thread(infra.start_postgres)

    async def accepted() -> dict | None:
        response = await gateway.post(
            "/api/tickets", json={"subject": "Po izpadu baze", "body": "b"}, headers=customer
        )
        return response.json() if response.status_code == 201 else None

    created = await eventually(accepted, timeout=30, what="tickets to accept requests again")
    await decided_ticket(gateway, customer, created["id"], timeout=60)
    await one_mail_about(stack, created["id"], timeout=60)
    for name in ("auth", "tickets", "billing", "notify"):
        await stack.wait_ready(name, within=30)


async def test_an_email_the_server_accepted_while_postgres_went_down_is_sent_once(
    stack: Stack,
    gateway: httpx.AsyncClient,
    customer: dict[str, str],
    infra: EmbeddedInfrastructure,
) -> None:
    assert stack.smtp is not None
    marker = f"Izpad baze med pošiljanjem {uuid.uuid4()}"
    stopped = threading.Event()

    def stop_postgres_before_accepting(mail: CapturedEmail) -> None:
        # Runs before the server answers "250": the sender learns that the e-mail was accepted
        # only once the database is gone.
        if marker in mail.text() and not stopped.is_set():
            stopped.set()
            infra.stop_postgres()

    stack.smtp.on_mail = stop_postgres_before_accepting
    try:
        created = await gateway.post(
            "/api/tickets", json={"subject": marker, "body": "Kaj se zgodi?"}, headers=customer
        )
        assert created.status_code == 201
        ticket_id = created.json()["id"]
        assert await asyncio.to_thread(stopped.wait, 60), "the e-mail was never sent"
        await asyncio.sleep(3)  # the sender holds the outcome while the database is away
    finally:
        stack.smtp.on_mail = None
        if stopped.is_set():
            await asyncio.to_thread(infra.start_postgres)

    async def recorded_sent() -> list[dict] | None:
        response = await gateway.get(
            "/api/notify/emails", params={"ticket_id": ticket_id}, headers=customer
        )
        if response.status_code != 200:
            return None
        emails = response.json()["items"]
        return emails if emails and all(e["status"] == "sent" for e in emails) else None

    emails = await eventually(recorded_sent, timeout=60, what="the e-mail recorded as sent")
    await asyncio.sleep(2)  # a sender that would send it again has had ten sweeps for it
    assert len(emails) == 1
    assert len(mails_about(stack, ticket_id)) == 1
    for name in ("auth", "tickets", "billing", "notify"):
        await stack.wait_ready(name, within=30)
