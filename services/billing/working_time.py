"""Support working time: Mon-Fri 08:00-16:00 in Ljubljana, except Slovenian public holidays."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


@cache
def slovenian_public_holidays(year: int) -> frozenset[date]:
    """Work-free public holidays in Slovenia (Zakon o praznikih in dela prostih dnevih)."""
    easter = easter_sunday(year)
    fixed = [
        (1, 1),
        (1, 2),
        (2, 8),
        (4, 27),
        (5, 1),
        (5, 2),
        (6, 25),
        (8, 15),
        (10, 31),
        (11, 1),
        (12, 25),
        (12, 26),
    ]
    days = {date(year, m, d) for m, d in fixed}
    days |= {easter, easter + timedelta(days=1), easter + timedelta(days=49)}  # + Pentecost
    return frozenset(days)


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
