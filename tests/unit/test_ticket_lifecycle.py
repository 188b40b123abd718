"""The ticket life cycle: who may take each step, when, and what each step records and announces."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.billing import TicketClassified
from contracts.common import Person, RuleHit
from contracts.tickets import (
    TicketAccepted,
    TicketClosed,
    TicketMessagePosted,
    TicketRefused,
    TicketReopened,
    TicketResolved,
)
from services.tickets.domain import (
    TRANSITIONS,
    Actor,
    Change,
    LifecycleRules,
    NotAllowedError,
    Resolution,
    Ticket,
    TicketError,
    TransitionError,
    accept,
    close,
    post_message,
    record_decision,
    reopen,
    resolve,
)
from tests import factories
from tests.factories import ANA, MARKO, ORG, T0

OTHER_ORG = uuid.UUID("0b7d3c52-3f0e-4a38-9d6a-4f5e3b2a1c90")
VENDOR = uuid.UUID("9a1f0c4e-2b7d-4e55-8c3a-6d0e1f2b3c4d")
RULES = LifecycleRules(reopen_window=timedelta(days=14))

STRANGER = Person(user_id=uuid.uuid4(), email="tuja@druga.example", display_name="Tuja Oseba")
CUSTOMER = Actor(ANA, ORG, is_staff=False)
CONSULTANT = Actor(MARKO, VENDOR, is_staff=True)
OUTSIDER = Actor(STRANGER, OTHER_ORG, is_staff=False)
ANSWER = Resolution("Popravili smo šifrant zaposlenih.", 12, data_correction=True)


def waiting_ticket() -> Ticket:
    return factories.waiting_ticket(version=2)


def in_work() -> Ticket:
    return accept(waiting_ticket(), CONSULTANT, now=T0 + timedelta(minutes=5)).ticket


def resolved() -> Ticket:
    return resolve(in_work(), CONSULTANT, ANSWER, now=T0 + timedelta(hours=1)).ticket


def refusal(ticket: Ticket) -> TicketClassified:
    return TicketClassified(
        ticket_id=ticket.id,
        org_id=ticket.org_id,
        stage="provisional",
        decision="refused",
        reasons=(RuleHit(code="R-ARREARS", effect="refused", explanation="Neporavnan dolg."),),
        policy_version="2026.11.1",
        decided_at=T0,
    )


def test_consultant_accepts_a_waiting_ticket_into_work() -> None:
    change = accept(waiting_ticket(), CONSULTANT, now=T0 + timedelta(minutes=5))

    assert change.ticket.status == "in_progress"
    assert change.ticket.assignee == MARKO
    assert change.ticket.accepted_at == T0 + timedelta(minutes=5)
    assert change.ticket.version == 3
    assert isinstance(change.event, TicketAccepted)
    assert change.event.consultant == MARKO
    assert change.event.requester == ANA
    assert (change.transition.kind, change.transition.from_status) == ("accepted", "waiting")
    assert change.transition.actor_name == "Marko Svetovalec"


def test_customer_cannot_accept_or_resolve() -> None:
    with pytest.raises(NotAllowedError):
        accept(waiting_ticket(), CUSTOMER, now=T0)
    with pytest.raises(NotAllowedError):
        resolve(in_work(), CUSTOMER, ANSWER, now=T0)


def test_a_ticket_in_work_cannot_be_accepted_again() -> None:
    with pytest.raises(TransitionError, match=r"#1042 is in work; .* only while on the waiting"):
        accept(in_work(), CONSULTANT, now=T0)


def test_a_waiting_ticket_cannot_be_resolved_or_closed() -> None:
    with pytest.raises(TransitionError, match="only while in work"):
        resolve(waiting_ticket(), CONSULTANT, ANSWER, now=T0)
    with pytest.raises(TransitionError, match="only while resolved"):
        close(waiting_ticket(), CUSTOMER, now=T0, rules=RULES)


def test_resolution_records_the_answer_and_the_work_it_took() -> None:
    change = resolve(in_work(), CONSULTANT, ANSWER, now=T0 + timedelta(hours=1))

    assert change.ticket.status == "resolved"
    assert change.ticket.resolution == ANSWER
    assert change.ticket.resolved_by == MARKO.user_id
    assert change.ticket.reopen_until(RULES) == T0 + timedelta(hours=1, days=14)
    event = change.event
    assert isinstance(event, TicketResolved)
    assert (event.time_spent_minutes, event.data_correction, event.remote_session) == (
        12,
        True,
        False,
    )
    assert event.requester == ANA
    assert event.number == 1042
    assert change.transition.note == ANSWER.text


@pytest.mark.parametrize("text", ["", "   "])
def test_a_resolution_needs_a_text(text: str) -> None:
    with pytest.raises(TicketError, match="resolution needs a text"):
        resolve(in_work(), CONSULTANT, replace(ANSWER, text=text), now=T0)


def test_customer_reopens_within_the_window_and_the_same_consultant_takes_it_up() -> None:
    ticket = resolved()
    change = reopen(
        ticket, CUSTOMER, reason="Napaka se ponavlja.", now=T0 + timedelta(days=10), rules=RULES
    )

    assert change.ticket.status == "in_progress"
    assert change.ticket.assignee == MARKO
    assert change.ticket.resolution is None
    assert change.ticket.reopen_count == 1
    assert isinstance(change.event, TicketReopened)
    assert change.event.consultant == MARKO
    assert change.event.reason == "Napaka se ponavlja."


def test_reopening_after_the_window_is_refused_with_the_date_it_ended() -> None:
    ticket = resolved()
    late = ticket.resolved_at + RULES.reopen_window + timedelta(seconds=1)  # type: ignore[operator]

    with pytest.raises(TransitionError, match=r"no longer be reopened.*submit a new ticket"):
        reopen(ticket, CUSTOMER, reason="Še vedno ne dela.", now=late, rules=RULES)


def test_only_the_customers_organization_reopens_and_never_without_a_reason() -> None:
    with pytest.raises(NotAllowedError):
        reopen(resolved(), CONSULTANT, reason="x", now=T0, rules=RULES)
    with pytest.raises(NotAllowedError):
        reopen(resolved(), OUTSIDER, reason="x", now=T0, rules=RULES)
    with pytest.raises(TicketError, match="why"):
        reopen(resolved(), CUSTOMER, reason="  ", now=T0, rules=RULES)


def test_customer_closes_a_resolved_ticket() -> None:
    change = close(resolved(), CUSTOMER, now=T0 + timedelta(days=1), rules=RULES)

    assert change.ticket.status == "closed"
    assert isinstance(change.event, TicketClosed)
    assert change.event.closed_by == ANA.user_id


def test_a_ticket_closes_itself_only_after_the_reopening_window() -> None:
    ticket = resolved()
    end = ticket.resolved_at + RULES.reopen_window  # type: ignore[operator]

    with pytest.raises(TransitionError, match="may still be reopened"):
        close(ticket, None, now=end, rules=RULES)
    change = close(ticket, None, now=end + timedelta(seconds=1), rules=RULES)
    assert change.ticket.status == "closed"
    assert isinstance(change.event, TicketClosed)
    assert change.event.closed_by is None
    assert change.transition.note == "Closed after the reopening window ended."


@pytest.mark.parametrize("ticket", [waiting_ticket(), in_work()], ids=["waiting", "in_work"])
def test_a_refusal_takes_the_ticket_off_the_waiting_list_or_out_of_work(ticket: Ticket) -> None:
    steps = record_decision(ticket, refusal(ticket), decision_version=1, now=T0)

    [(recorded, _, none), (refused, event, transition)] = steps
    assert none is None
    assert recorded.decision == "refused"
    assert refused.status == "refused"
    assert refused.version == recorded.version + 1 == ticket.version + 2
    assert isinstance(event, TicketRefused)
    assert [r.code for r in event.reasons] == ["R-ARREARS"]
    assert transition is not None
    assert transition.note == "R-ARREARS: Neporavnan dolg."


def test_a_refusal_of_a_resolved_ticket_is_recorded_without_changing_its_status() -> None:
    ticket = resolved()
    [(recorded, _, transition)] = record_decision(
        ticket, refusal(ticket), decision_version=2, now=T0
    )

    assert recorded.status == "resolved"
    assert recorded.decision == "refused"
    assert transition is None


def test_customers_write_messages_but_only_consultants_write_internal_notes() -> None:
    ticket = in_work()
    updated, message, event = post_message(
        ticket, CONSULTANT, body="Preverite šifrant.", internal=True, now=T0
    )
    assert message.internal
    assert message.author_role == "consultant"
    assert isinstance(event, TicketMessagePosted)
    assert event.internal
    assert updated.version == ticket.version + 1

    with pytest.raises(NotAllowedError, match="internal notes"):
        post_message(ticket, CUSTOMER, body="Skrito?", internal=True, now=T0)
    _, reply, _ = post_message(ticket, CUSTOMER, body="  Hvala.  ", internal=False, now=T0)
    assert (reply.body, reply.author_role, reply.internal) == ("Hvala.", "customer", False)


def test_nobody_writes_to_a_closed_ticket_or_to_another_organizations() -> None:
    closed = close(resolved(), CUSTOMER, now=T0 + timedelta(days=1), rules=RULES).ticket
    with pytest.raises(TransitionError, match="closed"):
        post_message(closed, CUSTOMER, body="Še nekaj.", internal=False, now=T0)
    with pytest.raises(NotAllowedError):
        post_message(in_work(), OUTSIDER, body="Živjo.", internal=False, now=T0)


# --- property: any sequence of attempts keeps the ticket on the state machine ------------------

STEPS = st.sampled_from(["accept", "resolve", "reopen", "close", "auto_close", "refuse", "write"])
ACTORS = st.sampled_from([CUSTOMER, CONSULTANT, OUTSIDER])


def _refuse(ticket: Ticket, now: datetime) -> Ticket:
    steps = record_decision(
        ticket, refusal(ticket), decision_version=ticket.decision_version + 1, now=now
    )
    return steps[-1][0]


def _attempt(ticket: Ticket, step: str, actor: Actor, now: datetime) -> Change | Ticket:
    attempts = {
        "accept": lambda: accept(ticket, actor, now=now),
        "resolve": lambda: resolve(ticket, actor, ANSWER, now=now),
        "reopen": lambda: reopen(ticket, actor, reason="Ne dela.", now=now, rules=RULES),
        "close": lambda: close(ticket, actor, now=now, rules=RULES),
        "auto_close": lambda: close(ticket, None, now=now, rules=RULES),
        "refuse": lambda: _refuse(ticket, now),
        "write": lambda: post_message(
            ticket, actor, body="Sporočilo.", internal=actor.is_staff, now=now
        )[0],
    }
    result: Change | Ticket = attempts[step]()
    return result


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.tuples(STEPS, ACTORS, st.integers(min_value=0, max_value=20 * 24 * 60)), max_size=40
    )
)
def test_any_sequence_of_attempts_only_takes_allowed_transitions(
    attempts: list[tuple[str, Actor, int]],
) -> None:
    ticket = waiting_ticket()
    now = T0
    for step, actor, minutes_later in attempts:
        now += timedelta(minutes=minutes_later)
        before = ticket
        try:
            outcome = _attempt(ticket, step, actor, now)
        except (TransitionError, NotAllowedError):
            continue  # refused: nothing to apply, `ticket` stays as it was
        ticket = outcome.ticket if isinstance(outcome, Change) else outcome
        assert ticket.version > before.version
        if ticket.status != before.status:
            assert step != "write"
            assert any(
                TRANSITIONS.get((before.status, action)) == ticket.status
                for action in ("accept", "resolve", "close", "reopen", "refuse")
            ), (before.status, step, ticket.status)
        # Invariants a reader relies on.
        if ticket.status in {"in_progress", "resolved"}:
            assert ticket.assignee == MARKO
        if ticket.status == "resolved":
            assert ticket.resolution is not None
        if ticket.status in {"waiting", "in_progress"}:
            assert ticket.resolution is None
        assert before.status not in {"closed", "refused"} or ticket.status == before.status
        if ticket.status == "in_progress" and before.status == "resolved":
            assert not actor.is_staff and actor.org_id == ORG


def test_a_waiting_ticket_may_be_taken_from_its_submission_or_after_its_deferral() -> None:
    plain = waiting_ticket()
    deferred = replace(plain, deferred_until=T0 + timedelta(hours=15))

    assert plain.available_from == T0 and plain.ready(T0)
    assert deferred.available_from == T0 + timedelta(hours=15)
    assert not deferred.ready(T0 + timedelta(hours=14, minutes=59))
    assert deferred.ready(T0 + timedelta(hours=15))
    assert not in_work().ready(T0 + timedelta(days=1))  # only a waiting ticket is taken
