"""Ticket rules: who may open which ticket, and recording billing's decisions in order."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from contracts.billing import TicketClassified
from contracts.common import Channel, Decision, DecisionStage, RuleHit
from contracts.tickets import TicketDecisionRecorded
from services.tickets.domain import (
    NewTicket,
    NotAllowedError,
    Ticket,
    TicketError,
    created_event,
    open_ticket,
    record_decision,
)
from tests.factories import ANA, MARKO, ORG, T0, waiting_ticket

CONSULTANT_ID = MARKO.user_id
PAID_BY_PHONE = (RuleHit(code="P-CHANNEL", effect="paid", explanation="Submitted by phone."),)
FREE_ON_PORTAL = (RuleHit(code="F-SHORT-USAGE", effect="free", explanation="Portal."),)


def open_as(
    *,
    channel: Channel,
    staff: bool,
    subject: str = "Tiskanje računov",
    body: str = "Račun se ne natisne.",
    program: str | None = None,
) -> NewTicket:
    return open_ticket(
        requester=ANA,
        org_id=ORG,
        subject=subject,
        body=body,
        program=program,
        topic="program_usage",
        channel=channel,
        recorded_by=CONSULTANT_ID if staff else None,
        recorder_is_staff=staff,
        now=T0,
    )


def make_ticket(*, version: int = 1, decision_version: int = 0) -> Ticket:
    return waiting_ticket(
        channel="phone",
        recorded_by=CONSULTANT_ID,
        version=version,
        decision="free" if decision_version else None,
        decision_stage="provisional" if decision_version else None,
        decision_version=decision_version,
        decision_reasons=FREE_ON_PORTAL if decision_version else (),
        policy_version="2026.11-provisional.1" if decision_version else None,
    )


def classified_for(
    ticket: Ticket,
    *,
    decision: Decision = "paid",
    stage: DecisionStage = "final",
    reasons: tuple[RuleHit, ...] = PAID_BY_PHONE,
    deferred_until: datetime | None = None,
) -> TicketClassified:
    return TicketClassified(
        ticket_id=ticket.id,
        org_id=ticket.org_id,
        stage=stage,
        decision=decision,
        reasons=reasons,
        policy_version="2026.11-provisional.2",
        decided_at=datetime(2026, 11, 24, 9, 5, tzinfo=UTC),
        deferred_until=deferred_until,
    )


@pytest.mark.parametrize("channel", ["phone", "email"])
def test_customer_cannot_open_a_phone_or_email_ticket(channel: Channel) -> None:
    with pytest.raises(NotAllowedError):
        open_as(channel=channel, staff=False)


def test_consultant_cannot_open_a_portal_ticket() -> None:
    with pytest.raises(TicketError) as caught:
        open_as(channel="portal", staff=True)
    assert not isinstance(caught.value, NotAllowedError)


def test_customer_opens_a_portal_ticket() -> None:
    new = open_as(channel="portal", staff=False)

    assert new.channel == "portal"
    assert new.requester == ANA
    assert new.org_id == ORG
    assert new.submitted_at == T0
    assert new.recorded_by is None


@pytest.mark.parametrize("channel", ["phone", "email"])
def test_consultant_records_a_phone_or_email_ticket_on_a_customers_behalf(
    channel: Channel,
) -> None:
    new = open_as(channel=channel, staff=True)

    assert new.channel == channel
    assert new.requester == ANA
    assert new.recorded_by == CONSULTANT_ID


def test_subject_body_and_program_are_stripped() -> None:
    new = open_as(
        channel="portal",
        staff=False,
        subject="  Tiskanje računov \n",
        body="\n Račun se ne natisne.\t ",
        program="  Fakturiranje ",
    )

    assert new.subject == "Tiskanje računov"
    assert new.body == "Račun se ne natisne."
    assert new.program == "Fakturiranje"


def test_each_opened_ticket_gets_its_own_id() -> None:
    assert open_as(channel="portal", staff=False).id != open_as(channel="portal", staff=False).id


def test_created_event_describes_the_stored_ticket() -> None:
    ticket = make_ticket()
    event = created_event(ticket)

    assert event.ticket_id == ticket.id
    assert event.number == ticket.number
    assert event.requester == ANA
    assert event.channel == "phone"
    assert event.recorded_by == CONSULTANT_ID
    assert event.submitted_at == T0


def test_newer_decision_is_recorded_on_the_ticket() -> None:
    ticket = make_ticket(version=3, decision_version=1)
    deferred = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
    classified = classified_for(ticket, deferred_until=deferred)

    steps = record_decision(ticket, classified, decision_version=2, now=T0)

    assert len(steps) == 1
    updated, _, transition = steps[0]
    assert transition is None
    assert updated.version == 4
    assert updated.decision == "paid"
    assert updated.decision_stage == "final"
    assert updated.decision_version == 2
    assert updated.decision_reasons == PAID_BY_PHONE
    assert updated.policy_version == "2026.11-provisional.2"
    assert updated.deferred_until == deferred
    assert updated.decided_at == classified.decided_at
    # The rest of the ticket is untouched, and the original is not mutated.
    assert (updated.id, updated.subject, updated.status) == (ticket.id, ticket.subject, "waiting")
    assert ticket.version == 3
    assert ticket.decision == "free"


def test_newer_decision_announces_it_to_the_requester() -> None:
    ticket = make_ticket(version=3, decision_version=1)
    classified = classified_for(ticket)

    [(_, event, _)] = record_decision(ticket, classified, decision_version=2, now=T0)

    assert isinstance(event, TicketDecisionRecorded)
    assert event.ticket_id == ticket.id
    assert event.number == 1042
    assert event.requester == ANA
    assert event.subject == ticket.subject
    assert event.reasons == classified.reasons
    assert event.decision == "paid"
    assert event.stage == "final"
    assert event.policy_version == classified.policy_version


def test_first_decision_is_recorded_on_a_ticket_without_one() -> None:
    ticket = make_ticket(version=1, decision_version=0)

    [(updated, _, _)] = record_decision(
        ticket,
        classified_for(ticket, decision="free", stage="provisional"),
        decision_version=1,
        now=T0,
    )

    assert updated.decision == "free"
    assert updated.decision_version == 1
    assert updated.version == 2


@pytest.mark.parametrize("decision_version", [1, 2], ids=["stale", "equal"])
def test_decision_that_is_not_newer_is_ignored(decision_version: int) -> None:
    ticket = make_ticket(version=5, decision_version=2)

    assert (
        record_decision(ticket, classified_for(ticket), decision_version=decision_version, now=T0)
        == []
    )


@pytest.mark.parametrize(("subject", "body"), [("   ", "Besedilo"), ("Zadeva", " \n ")])
def test_a_ticket_without_subject_or_description_is_refused(subject: str, body: str) -> None:
    with pytest.raises(TicketError, match="subject and a description"):
        open_as(channel="portal", staff=False, subject=subject, body=body)


def test_a_decision_about_another_ticket_is_refused() -> None:
    ticket = make_ticket()
    other = classified_for(make_ticket()).model_copy(update={"ticket_id": uuid.uuid4()})

    with pytest.raises(TicketError, match="given for"):
        record_decision(ticket, other, decision_version=1, now=T0)
