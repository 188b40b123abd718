"""One clock (docs/time.md): the controlled clock the test and dev stacks share, the refusal to
run on it in production, token lifetimes judged by it, and the lint rule that keeps it the only
source of business time."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from pydantic import ValidationError

from devstack.clock_text import parse_duration, parse_moment
from services.runtime.clock import ClockFileError, ControlledClock, SystemClock, clock_for
from services.runtime.identity import check_lifetime
from services.runtime.local_time import LOCAL_ZONE, format_day, format_moment
from services.tickets.settings import TicketsSettings
from tests.business_time import next_moment

ROOT = Path(__file__).resolve().parents[2]


def _close(a: datetime, b: datetime) -> bool:
    return abs(a - b) < timedelta(seconds=2)


def test_a_controlled_clock_without_its_file_tells_the_real_time(tmp_path: Path) -> None:
    clock = ControlledClock(tmp_path / "clock.json")
    assert _close(clock.now(), SystemClock().now())
    assert clock.now().tzinfo is not None


def test_every_reader_of_the_file_sees_a_set_moment_at_once_and_time_keeps_flowing(
    tmp_path: Path,
) -> None:
    writer, reader = (
        ControlledClock(tmp_path / "clock.json"),
        ControlledClock(tmp_path / "clock.json"),
    )
    saturday_night = datetime(2026, 12, 5, 23, 0, tzinfo=LOCAL_ZONE)

    writer.set(saturday_night)
    first = reader.now()
    time.sleep(0.05)
    second = reader.now()

    assert _close(first, saturday_night)
    assert second > first
    writer.advance(timedelta(days=15))
    assert _close(reader.now(), saturday_night + timedelta(days=15))
    writer.reset()
    assert _close(reader.now(), SystemClock().now())


def test_a_moment_without_a_time_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="time zone"):
        ControlledClock(tmp_path / "clock.json").set(datetime(2026, 12, 25, 10, 0))


def test_an_unreadable_clock_file_is_an_error_not_the_real_time(tmp_path: Path) -> None:
    path = tmp_path / "clock.json"
    path.write_text("not json")
    with pytest.raises(ClockFileError):
        ControlledClock(path).now()


def test_production_refuses_to_start_on_a_controlled_clock(tmp_path: Path) -> None:
    url = "postgresql://tickets:x@127.0.0.1:5432/tickets"
    with pytest.raises(ValidationError, match="production always runs on the real clock"):
        TicketsSettings(database_url=url, clock_file=tmp_path / "clock.json")
    allowed = TicketsSettings(database_url=url, clock_file=tmp_path / "c.json", environment="test")
    assert isinstance(clock_for(allowed.clock_file), ControlledClock)
    assert isinstance(clock_for(TicketsSettings(database_url=url).clock_file), SystemClock)


def test_token_lifetime_is_judged_by_the_given_time() -> None:
    issued = datetime(2026, 12, 2, 10, 0, tzinfo=UTC).timestamp()
    claims = {"iat": issued, "exp": issued + 600}
    check_lifetime(claims, now=issued + 599, leeway_s=0)
    with pytest.raises(jwt.ExpiredSignatureError):
        check_lifetime(claims, now=issued + 601, leeway_s=0)
    with pytest.raises(jwt.ImmatureSignatureError):
        check_lifetime(claims, now=issued - 60, leeway_s=30)
    check_lifetime(claims, now=issued - 20, leeway_s=30)  # a clock a little behind is tolerated


def test_times_read_naturally_in_both_languages() -> None:
    winter = datetime(2026, 1, 13, 7, 0, tzinfo=UTC)  # 08:00 in Ljubljana (CET)
    summer = datetime(2026, 7, 1, 6, 30, tzinfo=UTC)  # 08:30 in Ljubljana (CEST)
    assert format_moment(winter, "sl") == "13. januar 2026 ob 08:00"
    assert format_moment(winter, "en") == "13 January 2026 at 08:00"
    assert format_moment(summer, "sl") == "1. julij 2026 ob 08:30"
    assert format_day(date(2025, 9, 15), "sl") == "15. september 2025"
    assert format_day(date(2025, 9, 15), "en") == "15 September 2025"


def test_the_clock_command_reads_moments_and_durations() -> None:
    assert parse_moment("2026-12-25T10:00") == datetime(2026, 12, 25, 10, 0, tzinfo=LOCAL_ZONE)
    assert parse_moment("2026-12-25T09:00+00:00") == datetime(2026, 12, 25, 9, 0, tzinfo=UTC)
    assert parse_duration("1d2h30m") == timedelta(days=1, hours=2, minutes=30)
    assert parse_duration("-1h") == timedelta(hours=-1)
    for bad in ("", "soon", "3 weeks", "1h30"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(ValueError):
        parse_moment("next tuesday")


def test_tests_find_the_next_working_tuesday_saturday_night_and_christmas() -> None:
    wednesday = datetime(2026, 12, 2, 9, 0, tzinfo=LOCAL_ZONE)
    assert next_moment("tuesday 10:00", after=wednesday) == datetime(
        2026, 12, 8, 10, 0, tzinfo=LOCAL_ZONE
    )
    assert next_moment("saturday 23:00", after=wednesday) == datetime(
        2026, 12, 5, 23, 0, tzinfo=LOCAL_ZONE
    )
    assert next_moment("12-25 10:00", after=wednesday) == datetime(
        2026, 12, 25, 10, 0, tzinfo=LOCAL_ZONE
    )
    # 25 December 2029 is a Tuesday and a holiday: "tuesday 10:00" means working time.
    assert next_moment("tuesday 10:00", after=datetime(2029, 12, 20, tzinfo=LOCAL_ZONE)) == (
        datetime(2030, 1, 8, 10, 0, tzinfo=LOCAL_ZONE)
    )


@pytest.mark.parametrize(
    "code",
    [
        "from datetime import UTC, datetime\nnow = datetime.now(UTC)\n",
        "import datetime\nnow = datetime.datetime.utcnow()\n",
        "import time\nstamp = time.time()\n",
        "from datetime import date\ntoday = date.today()\n",
    ],
)
def test_the_build_fails_when_business_code_reads_the_system_clock(code: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--select",
            "TID251",
            "--stdin-filename",
            "services/tickets/example.py",
            "-",
        ],
        input=code,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "TID251" in result.stdout
