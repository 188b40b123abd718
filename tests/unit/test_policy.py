"""The provisional support policy and the working calendar (Europe/Ljubljana)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.billing.policy import (
    Arrangement,
    EarlierTicket,
    Onboarding,
    PolicyDecision,
    PolicyInputs,
    PolicyParameters,
    Standing,
    TicketFacts,
    as_record,
    provisional_decision,
)
from services.billing.working_time import WorkingCalendar, slovenian_public_holidays

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
PARAMS = PolicyParameters()


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LJUBLJANA)


# An organization that had onboarding and configured settings (so P-NO-SETUP does not apply).
SET_UP = PolicyInputs(
    onboarding=(Onboarding(uuid.uuid4(), "Plače", "onboarding", date(2025, 1, 10), True),)
)


def decide(channel: str, submitted_at: datetime) -> PolicyDecision:
    facts = TicketFacts(channel, submitted_at, topic="program_usage")  # type: ignore[arg-type]
    return provisional_decision(facts, PARAMS, SET_UP)


def codes(decision: PolicyDecision) -> list[str]:
    return [reason.code for reason in decision.reasons]


@pytest.fixture
def calendar() -> WorkingCalendar:
    return PARAMS.calendar()


TUESDAY_10 = local(2026, 11, 24, 10)
SATURDAY_11 = local(2026, 11, 28, 11)


def test_portal_ticket_in_working_hours_is_free_and_not_deferred() -> None:
    decision = decide("portal", TUESDAY_10)

    assert decision.decision == "free"
    assert codes(decision) == ["F-SHORT-USAGE"]
    assert decision.reasons[0].effect == "free"
    assert decision.deferred_until is None


@pytest.mark.parametrize("channel", ["phone", "email"])
def test_phone_or_email_ticket_is_paid_even_when_submitted_in_working_hours(channel: str) -> None:
    decision = decide(channel, TUESDAY_10)

    assert decision.decision == "paid"
    assert codes(decision) == ["P-CHANNEL"]
    assert decision.reasons[0].effect == "paid"
    assert {"phone": "by phone", "email": "by e-mail"}[channel] in decision.reasons[0].explanation
    assert decision.deferred_until is None


def test_saturday_portal_ticket_is_deferred_to_monday_morning_but_still_free() -> None:
    decision = decide("portal", SATURDAY_11)

    assert decision.decision == "free"
    assert codes(decision) == ["R-OUTSIDE-HOURS", "F-SHORT-USAGE"]
    outside = decision.reasons[0]
    assert outside.effect == "deferred"
    assert decision.deferred_until == local(2026, 11, 30, 8)
    assert decision.deferred_until is not None
    assert decision.deferred_until.utcoffset() == LJUBLJANA.utcoffset(datetime(2026, 11, 30, 8))
    assert "30 November 2026 at 08:00" in outside.explanation


def test_saturday_phone_ticket_is_deferred_and_paid() -> None:
    decision = decide("phone", SATURDAY_11)

    assert decision.decision == "paid"
    assert codes(decision) == ["R-OUTSIDE-HOURS", "P-CHANNEL"]
    assert decision.deferred_until == local(2026, 11, 30, 8)


def test_no_provisional_decision_refuses_help_for_being_outside_hours() -> None:
    for channel in ("portal", "phone", "email"):
        assert decide(channel, SATURDAY_11).decision != "refused"


def test_sixteen_oclock_exactly_is_outside_hours_and_waits_for_the_next_working_morning() -> None:
    decision = decide("portal", local(2026, 11, 24, 16))

    assert "R-OUTSIDE-HOURS" in codes(decision)
    assert decision.deferred_until == local(2026, 11, 25, 8)


def test_friday_after_hours_waits_for_monday() -> None:
    decision = decide("portal", local(2026, 11, 27, 17, 30))

    assert decision.deferred_until == local(2026, 11, 30, 8)


def test_one_minute_before_opening_waits_for_the_same_day_eight_oclock() -> None:
    decision = decide("portal", local(2026, 11, 24, 7, 59))

    assert "R-OUTSIDE-HOURS" in codes(decision)
    assert decision.deferred_until == local(2026, 11, 24, 8)


@pytest.mark.parametrize(("hour", "minute"), [(8, 0), (15, 59)])
def test_first_and_last_minute_of_the_working_day_are_inside_hours(hour: int, minute: int) -> None:
    decision = decide("portal", local(2026, 11, 24, hour, minute))

    assert "R-OUTSIDE-HOURS" not in codes(decision)
    assert decision.deferred_until is None


def test_christmas_ticket_waits_past_the_holiday_and_the_weekend() -> None:
    # Fri 25 Dec is Christmas, Sat 26 Dec Independence and Unity Day; Monday is next.
    decision = decide("portal", local(2026, 12, 25, 10))

    assert "R-OUTSIDE-HOURS" in codes(decision)
    assert decision.deferred_until == local(2026, 12, 28, 8)


def test_utc_instant_is_judged_in_ljubljana_time() -> None:
    # 07:30 UTC is 08:30 in Ljubljana (CET, UTC+1): inside working hours.
    decision = decide("portal", datetime(2026, 11, 24, 7, 30, tzinfo=UTC))

    assert "R-OUTSIDE-HOURS" not in codes(decision)
    assert decision.deferred_until is None


def test_utc_instant_before_local_opening_is_deferred_to_local_eight_oclock() -> None:
    # 06:30 UTC is 07:30 local.
    decision = decide("portal", datetime(2026, 11, 24, 6, 30, tzinfo=UTC))

    assert decision.deferred_until == local(2026, 11, 24, 8)
    assert decision.deferred_until == datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def test_summer_time_is_respected() -> None:
    # 15:30 UTC in June is 17:30 CEST: after hours, although 15:30 would be inside in UTC.
    decision = decide("portal", datetime(2026, 6, 16, 15, 30, tzinfo=UTC))

    assert decision.deferred_until == local(2026, 6, 17, 8)


def test_decision_carries_the_policy_version() -> None:
    assert decide("portal", TUESDAY_10).policy_version == PolicyParameters().version
    assert decide("phone", SATURDAY_11).policy_version == PolicyParameters().version


def test_a_different_policy_version_is_reported_as_given() -> None:
    params = PolicyParameters(version="2027.01-test")
    decision = provisional_decision(TicketFacts("portal", TUESDAY_10), params)

    assert decision.policy_version == "2027.01-test"


def test_easter_monday_is_not_a_working_day(calendar: WorkingCalendar) -> None:
    easter_monday = date(2027, 3, 29)

    assert easter_monday.weekday() == 0
    assert not calendar.is_working_day(easter_monday)
    assert calendar.is_working_day(date(2027, 3, 30))


def test_ticket_on_easter_monday_waits_for_tuesday() -> None:
    decision = decide("portal", local(2027, 3, 29, 10))

    assert decision.deferred_until == local(2027, 3, 30, 8)


def test_second_of_january_is_a_public_holiday(calendar: WorkingCalendar) -> None:
    assert date(2026, 1, 2) in slovenian_public_holidays(2026)
    # 2 January 2026 is a Friday.
    assert not calendar.is_working_day(date(2026, 1, 2))


def test_pentecost_sunday_is_a_public_holiday() -> None:
    assert date(2026, 5, 24) in slovenian_public_holidays(2026)
    assert date(2027, 5, 16) in slovenian_public_holidays(2027)


@pytest.mark.parametrize(
    "holiday",
    [
        date(2026, 1, 1),
        date(2026, 2, 8),
        date(2026, 4, 27),
        date(2026, 5, 1),
        date(2026, 5, 2),
        date(2026, 6, 25),
        date(2026, 8, 15),
        date(2026, 10, 31),
        date(2026, 11, 1),
        date(2026, 12, 25),
        date(2026, 12, 26),
    ],
)
def test_fixed_public_holidays_are_in_the_set(holiday: date) -> None:
    assert holiday in slovenian_public_holidays(holiday.year)


def test_an_ordinary_weekday_is_a_working_day_and_weekends_are_not(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.is_working_day(date(2026, 11, 24))
    assert not calendar.is_working_day(date(2026, 11, 28))
    assert not calendar.is_working_day(date(2026, 11, 29))


def test_calendar_uses_the_policy_working_hours() -> None:
    calendar = PARAMS.calendar()

    assert calendar.start == time(8, 0)
    assert calendar.end == time(16, 0)
    assert calendar.zone == LJUBLJANA


def test_the_inputs_a_decision_records_are_what_asdict_gives_without_its_copies() -> None:
    moment = local(2026, 11, 2, 9)
    inputs = PolicyInputs(
        standing=Standing(has_unpaid_obligations=True, as_of=moment),
        onboarding=(
            Onboarding(uuid.uuid4(), "Plače", "onboarding", date(2025, 1, 10), True),
            Onboarding(uuid.uuid4(), "Kadri", "seminar", date(2026, 3, 4), False),
        ),
        arrangements=(Arrangement(moment, local(2026, 12, 2, 9), "Ana Novak"),),
        earlier=EarlierTicket(uuid.uuid4(), 41, "Tiskanje plačilnih list", 0.62, True),
    )

    assert as_record(inputs) == dataclasses.asdict(inputs)
    assert as_record(PolicyInputs()) == dataclasses.asdict(PolicyInputs())
