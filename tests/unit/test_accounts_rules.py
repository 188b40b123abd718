"""Pure rules of the auth service: throttling, password rules, the legacy file, roles."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.auth.domain import AccountError, can_manage_users_of, check_roles
from services.auth.legacy_import import LegacyFileError, parse_legacy_users
from services.auth.passwords import PasswordRuleError, check_new_password
from services.auth.throttle import (
    LinkCap,
    ThrottlePolicy,
    ThrottleState,
    after_failure,
    wait_s,
)

POLICY = ThrottlePolicy(free_failures=3, base_wait_s=1, max_wait_s=10, forget_after_s=3600)
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _fail(times: int, *, every_s: float = 0) -> ThrottleState:
    state = None
    for i in range(times):
        state = after_failure(state, T0 + timedelta(seconds=i * every_s), POLICY)
    assert state is not None
    return state


def test_free_failures_do_not_wait() -> None:
    assert wait_s(_fail(3), T0) == 0


def test_each_failure_after_the_free_ones_doubles_the_wait_up_to_the_maximum() -> None:
    waits = [wait_s(_fail(n), T0) for n in range(4, 10)]
    assert waits == [1, 2, 4, 8, 10, 10]


def test_the_wait_runs_out() -> None:
    state = _fail(5)
    assert wait_s(state, T0 + timedelta(seconds=1)) == 1
    assert wait_s(state, T0 + timedelta(seconds=3)) == 0


def test_failures_are_forgotten_after_a_quiet_period() -> None:
    state = _fail(6)
    later = after_failure(state, T0 + timedelta(hours=2), POLICY)
    assert later.failures == 1 and later.locked_until is None


def test_password_links_go_out_up_to_the_cap_within_the_window() -> None:
    cap = LinkCap(per_window=5, window_s=3600)

    assert [cap.allows(n) for n in range(7)] == [True] * 5 + [False] * 2
    assert cap.since(T0) == T0 - timedelta(hours=1)


@pytest.mark.parametrize(
    ("password", "repeated", "message"),
    [
        ("1234567", "1234567", "at least 8"),
        ("a" * 257, "a" * 257, "at most 256"),
        ("dovolj dolgo", "dovolj dolgO", "differ"),
    ],
)
def test_password_rules_refuse(password: str, repeated: str, message: str) -> None:
    with pytest.raises(PasswordRuleError, match=message):
        check_new_password(password, repeated)


@pytest.mark.parametrize(
    "password", ["12345678", "a" * 64, "vse male črke brez številk", "ž" * 256]
)
def test_password_rules_accept_length_without_composition_rules(password: str) -> None:
    check_new_password(password, password)


def test_legacy_file_is_read_with_defaults_and_normalised_emails() -> None:
    rows = parse_legacy_users(
        "\ufeffOrganization,Email,Name,Language\n"
        "Kranjc d.o.o., Mojca.Kranjc@Kranjc.SI ,Mojca  Kranjc,\n"
        "Kranjc d.o.o.,janez@kranjc.si,Janez,en\n"
    )
    assert [(r.line, r.email, r.name, r.language) for r in rows] == [
        (2, "mojca.kranjc@kranjc.si", "Mojca Kranjc", "sl"),
        (3, "janez@kranjc.si", "Janez", "en"),
    ]


def test_legacy_file_lists_every_problem_by_line() -> None:
    with pytest.raises(LegacyFileError) as caught:
        parse_legacy_users(
            "organization,email,name,language\n"
            "A,ana@a.si,Ana,sl\n"
            ",ni-naslov,,de\n"
            "A,ANA@a.si,Ana Druga,sl\n"
        )
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("line 3:") and "organization" in problems[0]
    assert "not an e-mail" in problems[0] and "language" in problems[0]
    assert problems[1] == "line 4: ana@a.si is also on line 2"


def test_legacy_file_needs_the_columns() -> None:
    with pytest.raises(LegacyFileError, match="lacks the columns: email"):
        parse_legacy_users("organization,name\nA,B\n")


def test_roles_must_fit_the_kind_of_organization() -> None:
    check_roles("customer", frozenset({"customer", "customer_admin"}))
    with pytest.raises(AccountError, match="consultant"):
        check_roles("customer", frozenset({"customer", "consultant"}))
    with pytest.raises(AccountError, match="at least one"):
        check_roles("vendor", frozenset())


def test_customer_admins_manage_their_own_organization_only() -> None:
    own, other = uuid.uuid4(), uuid.uuid4()
    admin = frozenset({"customer", "customer_admin"})
    assert can_manage_users_of(admin, own, own)
    assert not can_manage_users_of(admin, own, other)
    assert not can_manage_users_of(frozenset({"customer"}), own, own)
    assert can_manage_users_of(frozenset({"vendor_admin"}), own, other)
