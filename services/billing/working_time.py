"""Support working time: Mon-Fri 08:00-16:00 in Ljubljana, except Slovenian public holidays."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays


@cache
def slovenian_public_holidays(year: int) -> frozenset[date]:
    """Work-free public holidays in Slovenia, from the `holidays` library (which follows the
    Zakon o praznikih in dela prostih dnevih, Easter and Pentecost included)."""
    return frozenset(holidays.country_holidays("SI", years=year).keys())


class WorkingCalendar:
    """Answers "is this working time?" and "when does the next working period start?"."""

    def __init__(self, *, timezone: str, start: time, end: time, weekdays: frozenset[int]) -> None:
        self.zone = ZoneInfo(timezone)
        self.start = start
        self.end = end
        self.weekdays = weekdays

    def is_working_day(self, day: date) -> bool:
        return day.weekday() in self.weekdays and day not in slovenian_public_holidays(day.year)

    def is_working_time(self, moment: datetime) -> bool:
        """True when `moment` (timezone-aware) falls in working hours of a working day."""
        local = moment.astimezone(self.zone)
        return self.is_working_day(local.date()) and self.start <= local.time() < self.end

    def next_working_start(self, moment: datetime) -> datetime:
        """The start of the first working period after `moment` (timezone-aware, local zone)."""
        local = moment.astimezone(self.zone)
        day = local.date()
        if local.time() >= self.start:
            day += timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return datetime.combine(day, self.start, tzinfo=self.zone)
