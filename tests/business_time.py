"""Moments a test asks for by how people say them: "tuesday 10:00", "saturday 23:00", "12-25 10:00".

A test marked `@pytest.mark.at("tuesday 10:00")` runs with every service of the stack on the next
such moment in Ljubljana (see tests/conftest.py and docs/time.md). Moments are found ahead of
the real time, never behind it, where the tokens and sessions the services issued a moment ago
would look as if they came from the future.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from services.billing.working_time import slovenian_public_holidays
from services.runtime.local_time import LOCAL_ZONE

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY = re.compile(rf"^({'|'.join(WEEKDAYS)})\s+(\d{{1,2}}):(\d{{2}})$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})\s+(\d{1,2}):(\d{2})$")
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})\s+(\d{1,2}):(\d{2})$")
# A moment this close ahead would pass while the test is still setting up.
MARGIN = timedelta(minutes=10)


def next_moment(spec: str, *, after: datetime) -> datetime:
    """The first local moment matching `spec` at least `MARGIN` after `after`.

    "tuesday 10:00": the next Tuesday at 10:00 that is a working day (Slovenian public holidays
    are skipped, so "a weekday 10:00" means working time); "saturday 23:00" likewise for any day;
    "12-25 10:00": the next 25 December; "2027-03-28 03:30": exactly that moment.
    """
    text = spec.strip().lower()
    earliest = after + MARGIN
    if match := _WEEKDAY.match(text):
        weekday = WEEKDAYS.index(match[1])
        at = time(int(match[2]), int(match[3]))
        day = earliest.astimezone(LOCAL_ZONE).date()
        for _ in range(400):
            candidate = _local(day, at)
            working = weekday < 5
            if (
                day.weekday() == weekday
                and candidate >= earliest
                and not (working and day in slovenian_public_holidays(day.year))
            ):
                return candidate
            day += timedelta(days=1)
        raise AssertionError(f"no {spec!r} within a year")
    if match := _MONTH_DAY.match(text):
        month, day_of_month = int(match[1]), int(match[2])
        at = time(int(match[3]), int(match[4]))
        year = earliest.astimezone(LOCAL_ZONE).year
        candidate = _local(date(year, month, day_of_month), at)
        if candidate < earliest:
            candidate = _local(date(year + 1, month, day_of_month), at)
        return candidate
    if match := _DATE.match(text):
        year, month, day_of_month, hour, minute = (int(g) for g in match.groups())
        return _local(date(year, month, day_of_month), time(hour, minute))
    raise ValueError(f"cannot read the moment {spec!r}")


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=LOCAL_ZONE)
