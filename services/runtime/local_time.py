"""Times as people read them: in Europe/Ljubljana, written for the reader's language (Babel).

Stored and sent times are UTC; every time a customer or consultant reads (a policy reason, an
e-mail, a statement) goes through here (docs/time.md).
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time

from contracts.common import Language

LOCAL_ZONE_NAME = "Europe/Ljubljana"
LOCAL_ZONE = ZoneInfo(LOCAL_ZONE_NAME)

# Babel locales for the portal's two languages; British English writes dates day first, as
# Slovenian readers expect.
_LOCALE: dict[Language, str] = {"sl": "sl_SI", "en": "en_GB"}
# How a date and a time join in a sentence ("13. januar 2026 ob 08:00"); CLDR's own date-time
# patterns put only a space or a comma there.
_AT: dict[Language, str] = {"sl": "ob", "en": "at"}


def local(moment: datetime, zone: ZoneInfo = LOCAL_ZONE) -> datetime:
    """The moment on the local wall clock."""
    return moment.astimezone(zone)


# Both are remembered: Babel takes ~0.1 ms a call, and the same few moments recur (every ticket
# sent over a weekend waits for Monday 08:00; billing's catch-up spent 7 % of its CPU here).
@lru_cache(maxsize=1024)
def format_moment(moment: datetime, language: Language, zone: ZoneInfo = LOCAL_ZONE) -> str:
    """A date and time, e.g. "13. januar 2026 ob 08:00" or "13 January 2026 at 08:00"."""
    wall = local(moment, zone)
    locale = _LOCALE[language]
    day = format_date(wall.date(), "long", locale=locale)
    hour = format_time(wall.time(), "short", locale=locale)
    return f"{day} {_AT[language]} {hour}"


@lru_cache(maxsize=1024)
def format_day(day: date, language: Language) -> str:
    """A date, e.g. "15. september 2025" or "15 September 2025"."""
    return format_date(day, "long", locale=_LOCALE[language])
