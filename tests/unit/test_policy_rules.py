"""Each rule of the support policy on its own, their precedence, and the two decisions."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.billing.policy import (
    RULES,
    Arrangement,
    EarlierTicket,
    Onboarding,
    PolicyInputs,
    PolicyParameters,
    Standing,
    TicketFacts,
    WorkFacts,
    combine,
    final_decision,
    provisional_decision,
)
from services.billing.policy.rules import (
    rule_arrears,
    rule_channel,
    rule_complex,
    rule_data_fix,
    rule_in_docs,
    rule_legislation,
    rule_new_program,
    rule_no_setup,
    rule_not_onboarded,
    rule_other_remote,
    rule_outside_hours_at_resolution,
    rule_outside_hours_at_submission,
    rule_remote,
    rule_repeat,
    rule_short_usage,
)

LJ = ZoneInfo("Europe/Ljubljana")
P = PolicyParameters()
ANA = uuid.UUID("40806fb9-17b4-50da-9e43-a039810eda37")
COLLEAGUE = uuid.uuid4()
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=LJ)
FACTS = TicketFacts("portal", TUESDAY_10, ANA, "program_usage", "Plače")
ONBOARDED = Onboarding(ANA, "Plače", "onboarding", date(2025, 3, 1), True)
SET_UP = PolicyInputs(onboarding=(ONBOARDED,))
SHORT = WorkFacts(resolved_at=TUESDAY_10 + timedelta(hours=1), minutes=10)
# The rule codes of docs/product.md's tables ("| R-ARREARS | ..."), the interpretation the
# code follows.
PRODUCT_CODES = set(
    re.findall(
        r"^\| ([RPF]-[A-Z-]+) \|",
        (Path(__file__).parents[2] / "docs" / "product.md").read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
)


def codes(decision: object) -> list[str]:
    return [r.code for r in decision.reasons]  # type: ignore[attr-defined]


def test_every_rule_of_product_md_is_implemented() -> None:
    assert set(RULES) == PRODUCT_CODES


def test_every_reason_reads_in_english_and_slovenian() -> None:
    work = replace(SHORT, minutes=40, remote_session=True, doc_reference="Pomoč 4.2")
    inputs = PolicyInputs(
        standing=Standing(True, TUESDAY_10),
        earlier=EarlierTicket(uuid.uuid4(), 7, "Tiskanje", 0.8, True),
    )
    for hit in (
        rule_arrears(inputs),
        rule_complex(work, P),
        rule_remote(work),
        rule_in_docs(work),
        rule_repeat(inputs),
        rule_no_setup(FACTS, PolicyInputs()),
    ):
        assert hit is not None
        assert hit.explanation and hit.explanation_sl and hit.explanation != hit.explanation_sl


# --- refusals -------------------------------------------------------------------------------------


def test_r_arrears_refuses_when_the_organization_has_unpaid_obligations() -> None:
    assert rule_arrears(PolicyInputs(standing=Standing(True, TUESDAY_10))) is not None
    assert rule_arrears(PolicyInputs(standing=Standing(False, TUESDAY_10))) is None
    assert rule_arrears(PolicyInputs()) is None


def test_r_not_onboarded_is_about_the_person_and_the_program() -> None:
    colleague_only = PolicyInputs(
        onboarding=(Onboarding(COLLEAGUE, "Plače", "onboarding", date(2025, 3, 1), True),)
    )
    other_program = PolicyInputs(
        onboarding=(Onboarding(ANA, "Fakturiranje", "onboarding", date(2025, 3, 1), True),)
    )
    hit = rule_not_onboarded(FACTS, colleague_only)

    assert hit is not None and "Plače" in hit.explanation
    assert rule_not_onboarded(FACTS, other_program) is not None
    assert rule_not_onboarded(FACTS, SET_UP) is None
    assert rule_not_onboarded(replace(FACTS, program="plače"), SET_UP) is None  # case-insensitive


def test_r_not_onboarded_needs_a_program_and_records_of_the_organization() -> None:
    assert rule_not_onboarded(replace(FACTS, program=None), SET_UP) is None
    assert rule_not_onboarded(FACTS, PolicyInputs()) is None  # nothing known: P-NO-SETUP instead


def test_r_outside_hours_at_submission_defers_to_the_next_working_period() -> None:
    friday_evening = datetime(2026, 11, 27, 18, 30, tzinfo=LJ)
    hit, start = rule_outside_hours_at_submission(replace(FACTS, submitted_at=friday_evening), P)

    assert hit is not None and hit.effect == "deferred"
    assert start == datetime(2026, 11, 30, 8, 0, tzinfo=LJ)
    assert "30. november 2026 ob 08:00" in (hit.explanation_sl or "")
    assert rule_outside_hours_at_submission(FACTS, P) == (None, None)


def test_an_arrangement_lets_a_ticket_submitted_outside_hours_be_served_at_once() -> None:
    evening = datetime(2026, 11, 24, 18, 0, tzinfo=LJ)
    arranged = replace(
        SET_UP,
        arrangements=(
            Arrangement(evening - timedelta(hours=2), evening + timedelta(hours=2), "Novak"),
        ),
    )
    decision = provisional_decision(replace(FACTS, submitted_at=evening), P, arranged)

    assert (decision.deferred_until, codes(decision)) == (None, ["F-SHORT-USAGE"])


def test_r_outside_hours_refuses_help_given_outside_hours_without_an_arrangement() -> None:
    evening = replace(SHORT, resolved_at=datetime(2026, 11, 24, 18, 0, tzinfo=LJ))
    arranged = PolicyInputs(
        arrangements=(
            Arrangement(
                datetime(2026, 11, 24, 16, 0, tzinfo=LJ),
                datetime(2026, 11, 24, 20, 0, tzinfo=LJ),
                "direktor Novak",
            ),
        )
    )

    assert rule_outside_hours_at_resolution(evening, PolicyInputs(), P) is not None
    assert rule_outside_hours_at_resolution(evening, arranged, P) is None
    assert rule_outside_hours_at_resolution(SHORT, PolicyInputs(), P) is None


# --- paid -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("channel", "paid"), [("portal", False), ("phone", True), ("email", True)])
def test_p_channel(channel: str, paid: bool) -> None:
    assert (rule_channel(replace(FACTS, channel=channel)) is not None) == paid  # type: ignore[arg-type]


def test_p_no_setup_without_onboarding_or_without_configured_settings() -> None:
    not_configured = PolicyInputs(onboarding=(replace(ONBOARDED, organization_setup_done=False),))

    assert rule_no_setup(FACTS, PolicyInputs()) is not None
    assert rule_no_setup(FACTS, not_configured) is not None
    assert rule_no_setup(FACTS, SET_UP) is None


def test_p_in_docs_names_the_article() -> None:
    hit = rule_in_docs(replace(SHORT, doc_reference="E-novice 2026/10: Zaključek leta"))

    assert hit is not None and "E-novice 2026/10" in hit.explanation
    assert rule_in_docs(SHORT) is None


@pytest.mark.parametrize(
    ("minutes", "training", "paid"),
    [(15, False, False), (16, False, True), (5, True, True), (0, False, False)],
)
def test_p_complex_beyond_fifteen_minutes_or_with_training(
    minutes: int, training: bool, paid: bool
) -> None:
    work = replace(SHORT, minutes=minutes, training=training)
    assert (rule_complex(work, P) is not None) == paid


@pytest.mark.parametrize(
    ("topic", "paid"),
    [("legislation", True), ("business_organization", True), ("program_usage", False)],
)
def test_p_legislation(topic: str, paid: bool) -> None:
    assert (rule_legislation(replace(FACTS, topic=topic), P) is not None) == paid  # type: ignore[arg-type]


def test_p_data_fix_when_asked_for_or_done() -> None:
    assert rule_data_fix(replace(FACTS, topic="data_correction"), None) is not None
    assert rule_data_fix(FACTS, replace(SHORT, data_correction=True)) is not None
    assert rule_data_fix(FACTS, SHORT) is None


def test_p_remote_and_p_other_remote() -> None:
    assert rule_remote(replace(SHORT, remote_session=True)) is not None
    assert rule_remote(SHORT) is None
    assert rule_other_remote(replace(SHORT, other_remote_service=True)) is not None
    assert rule_other_remote(SHORT) is None


def test_p_repeat_cites_the_earlier_ticket() -> None:
    earlier = EarlierTicket(uuid.uuid4(), 1017, "Izpis REK obrazca", 0.62, True)
    hit = rule_repeat(PolicyInputs(earlier=earlier))

    assert hit is not None
    assert "no. 1017" in hit.explanation and "št. 1017" in (hit.explanation_sl or "")
    assert rule_repeat(PolicyInputs()) is None


def test_p_repeat_reads_naturally_when_a_colleague_asked_before() -> None:
    earlier = EarlierTicket(uuid.uuid4(), 1017, "Izpis REK obrazca", 0.62, False)
    hit = rule_repeat(PolicyInputs(earlier=earlier))

    assert hit is not None
    assert "which your organization received clear instructions in" in hit.explanation
    assert "Enako vprašanje je vaše podjetje že zastavilo v zahtevku št. 1017" in (
        hit.explanation_sl or ""
    )


# --- free -----------------------------------------------------------------------------------------


def test_f_short_usage_up_to_fifteen_minutes_about_using_the_programs() -> None:
    assert rule_short_usage(FACTS, replace(SHORT, minutes=15), P) is not None
    assert rule_short_usage(FACTS, replace(SHORT, minutes=16), P) is None
    assert rule_short_usage(replace(FACTS, topic="legislation"), SHORT, P) is None
    assert rule_short_usage(FACTS, None, P) is not None  # expected at submission


def test_f_new_program_within_the_window_after_onboarding_or_a_seminar() -> None:
    recent = Onboarding(ANA, "Plače", "seminar", TUESDAY_10.date() - timedelta(days=90), True)
    old = replace(recent, completed_on=TUESDAY_10.date() - timedelta(days=91))

    hit = rule_new_program(FACTS, PolicyInputs(onboarding=(recent,)), P)
    assert hit is not None and "seminar" in hit.explanation
    assert rule_new_program(FACTS, PolicyInputs(onboarding=(old,)), P) is None
    longer = replace(P, new_program_window_days=120, version="test")
    assert rule_new_program(FACTS, PolicyInputs(onboarding=(old,)), longer) is not None


# --- decisions and precedence ---------------------------------------------------------------


def test_refusal_wins_over_paid_and_free() -> None:
    inputs = replace(SET_UP, standing=Standing(True, TUESDAY_10))
    decision = final_decision(
        replace(FACTS, channel="phone"), replace(SHORT, remote_session=True), P, inputs
    )

    assert decision.decision == "refused"
    assert codes(decision) == ["R-ARREARS"]


def test_refusal_on_the_person_wins_over_paid_for_missing_setup() -> None:
    colleague_only = PolicyInputs(
        onboarding=(Onboarding(COLLEAGUE, "Plače", "onboarding", date(2025, 3, 1), False),)
    )
    decision = provisional_decision(FACTS, P, colleague_only)

    assert decision.decision == "refused"
    assert codes(decision) == ["R-NOT-ONBOARDED"]


def test_paid_wins_over_free_and_every_paid_rule_is_named() -> None:
    work = replace(SHORT, minutes=10, remote_session=True, data_correction=True)
    decision = final_decision(FACTS, work, P, SET_UP)

    assert decision.decision == "paid"
    assert codes(decision) == ["P-DATA-FIX", "P-REMOTE"]


def test_short_usage_through_the_portal_is_free_at_both_stages() -> None:
    assert provisional_decision(FACTS, P, SET_UP).decision == "free"
    final = final_decision(FACTS, SHORT, P, SET_UP)
    assert (final.decision, codes(final)) == ("free", ["F-SHORT-USAGE"])


def test_a_resolved_ticket_meeting_no_free_rule_is_paid_and_says_so() -> None:
    decision, reasons = combine([None], [None], [None], final=True)

    assert decision == "paid"
    assert [r.code for r in reasons] == ["P-NO-FREE-RULE"]
    assert combine([None], [None], [None], final=False) == ("paid", [])


def test_provisional_decision_of_a_regulation_question_is_paid() -> None:
    decision = provisional_decision(replace(FACTS, topic="legislation"), P, SET_UP)

    assert (decision.decision, codes(decision)) == ("paid", ["P-LEGISLATION"])


def test_deferral_is_listed_first_and_kept_with_a_paid_decision() -> None:
    saturday = datetime(2026, 11, 28, 11, 0, tzinfo=LJ)
    decision = provisional_decision(
        replace(FACTS, submitted_at=saturday, channel="phone"), P, SET_UP
    )

    assert codes(decision) == ["R-OUTSIDE-HOURS", "P-CHANNEL"]
    assert decision.deferred_until == datetime(2026, 11, 30, 8, 0, tzinfo=LJ)


def test_a_refused_ticket_is_not_deferred() -> None:
    saturday = datetime(2026, 11, 28, 11, 0, tzinfo=LJ)
    inputs = replace(SET_UP, standing=Standing(True, saturday))
    decision = provisional_decision(replace(FACTS, submitted_at=saturday), P, inputs)

    assert (decision.decision, codes(decision), decision.deferred_until) == (
        "refused",
        ["R-ARREARS"],
        None,
    )


def test_every_decision_records_the_policy_version() -> None:
    custom = replace(P, version="2027.01.1")
    assert provisional_decision(FACTS, custom, SET_UP).policy_version == "2027.01.1"
    assert final_decision(FACTS, SHORT, custom, SET_UP).policy_version == "2027.01.1"


# --- the calendar's edges ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "working"),
    [
        (datetime(2026, 11, 24, 8, 0, tzinfo=LJ), True),  # exactly 08:00
        (datetime(2026, 11, 24, 7, 59, 59, tzinfo=LJ), False),
        (datetime(2026, 11, 24, 15, 59, 59, tzinfo=LJ), True),
        (datetime(2026, 11, 24, 16, 0, tzinfo=LJ), False),  # exactly 16:00
        (datetime(2026, 11, 28, 10, 0, tzinfo=LJ), False),  # Saturday
        (datetime(2026, 11, 29, 10, 0, tzinfo=LJ), False),  # Sunday
        (datetime(2026, 12, 25, 10, 0, tzinfo=LJ), False),  # Christmas, a Friday
        (datetime(2026, 6, 25, 10, 0, tzinfo=LJ), False),  # Statehood Day
        (datetime(2026, 6, 8, 10, 0, tzinfo=LJ), True),  # Trubar Day: a holiday, not work-free
        # Daylight saving: 29 March 2026 (Sunday) and 25 October 2026 (Sunday) switch; the
        # Mondays after are judged in local time, not by a fixed UTC offset.
        (datetime(2026, 3, 30, 6, 0, tzinfo=ZoneInfo("UTC")), True),  # 08:00 CEST
        (datetime(2026, 3, 30, 5, 59, tzinfo=ZoneInfo("UTC")), False),
        (datetime(2026, 10, 26, 7, 0, tzinfo=ZoneInfo("UTC")), True),  # 08:00 CET
        (datetime(2026, 10, 26, 6, 59, tzinfo=ZoneInfo("UTC")), False),
    ],
)
def test_working_time_edges(moment: datetime, working: bool) -> None:
    assert P.calendar().is_working_time(moment) == working


def test_submitted_before_the_spring_switch_waits_for_monday_eight_local() -> None:
    saturday_night = datetime(2026, 3, 28, 23, 0, tzinfo=LJ)
    _, start = rule_outside_hours_at_submission(replace(FACTS, submitted_at=saturday_night), P)

    assert start == datetime(2026, 3, 30, 8, 0, tzinfo=LJ)
    assert start is not None and start.utcoffset() == timedelta(hours=2)


def test_submitted_before_the_autumn_switch_waits_for_monday_eight_local() -> None:
    saturday = datetime(2026, 10, 24, 12, 0, tzinfo=LJ)
    _, start = rule_outside_hours_at_submission(replace(FACTS, submitted_at=saturday), P)

    assert start == datetime(2026, 10, 26, 8, 0, tzinfo=LJ)
    assert start is not None and start.utcoffset() == timedelta(hours=1)
