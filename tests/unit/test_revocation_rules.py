"""The revocation rule, pure: a user's tokens issued at or before the revocation's moment are
refused and later ones taken; an ended session's tokens are refused whatever their age; a list
that has not been read for too long vouches for nothing (services/runtime/revocation.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.runtime.identity import TokenVerifier
from services.runtime.revocation import (
    FORGET_MARGIN,
    RevocationList,
    Revocations,
    RevocationsOutdatedError,
)

MOMENT = datetime(2026, 12, 4, 9, 30, 15, 250_000, tzinfo=UTC).timestamp()
ANA, BOJAN = uuid.uuid4(), uuid.uuid4()
ANAS_PHONE, ANAS_LAPTOP = uuid.uuid4(), uuid.uuid4()


def test_a_users_tokens_issued_at_or_before_the_revocation_are_refused() -> None:
    revoked = Revocations(users={ANA: MOMENT})

    for issued_at in (MOMENT - 599, MOMENT - 0.000_001, MOMENT):
        assert revoked.refusal(user_id=ANA, session_id=ANAS_PHONE, issued_at=issued_at)


def test_a_token_issued_after_the_revocation_is_taken_even_within_the_same_second() -> None:
    revoked = Revocations(users={ANA: MOMENT})

    for issued_at in (MOMENT + 0.000_001, MOMENT + 0.5, MOMENT + 3600):
        assert revoked.refusal(user_id=ANA, session_id=ANAS_PHONE, issued_at=issued_at) is None


def test_another_users_tokens_are_not_concerned() -> None:
    revoked = Revocations(users={ANA: MOMENT}, sessions=frozenset({ANAS_PHONE}))

    assert revoked.refusal(user_id=BOJAN, session_id=uuid.uuid4(), issued_at=MOMENT - 1) is None
    assert revoked.refusal(user_id=BOJAN, session_id=None, issued_at=MOMENT - 1) is None


def test_every_token_of_an_ended_session_is_refused_and_the_users_other_sessions_live_on() -> None:
    revoked = Revocations(sessions=frozenset({ANAS_PHONE}))

    for issued_at in (MOMENT - 300, MOMENT, MOMENT + 300):
        assert revoked.refusal(user_id=ANA, session_id=ANAS_PHONE, issued_at=issued_at)
    assert revoked.refusal(user_id=ANA, session_id=ANAS_LAPTOP, issued_at=MOMENT) is None
    assert revoked.refusal(user_id=ANA, session_id=None, issued_at=MOMENT) is None


def test_nothing_revoked_refuses_nothing() -> None:
    assert Revocations().refusal(user_id=ANA, session_id=ANAS_PHONE, issued_at=MOMENT) is None


def test_a_list_that_must_be_read_refuses_to_answer_before_its_first_reading_and_when_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("services.runtime.revocation.time.monotonic", lambda: clock[0])
    revocations = RevocationList(stale_after_s=30)

    with pytest.raises(RevocationsOutdatedError):
        revocations.current()
    revocations.replace(Revocations(users={ANA: MOMENT}))
    clock[0] += 29
    assert revocations.current().users == {ANA: MOMENT}
    clock[0] += 2
    with pytest.raises(RevocationsOutdatedError):
        revocations.current()


def test_rows_are_kept_while_the_verifier_could_still_take_their_tokens() -> None:
    verifier_leeway = TokenVerifier.__dataclass_fields__["leeway_s"].default

    assert timedelta(seconds=verifier_leeway) < FORGET_MARGIN
