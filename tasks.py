#!/usr/bin/env python3
"""The project's two entry points, usable on a fresh machine with only Python 3.11+.

    python3 tasks.py dev     start the whole system (embedded Postgres and broker by default)
    python3 tasks.py test    run every test
    python3 tasks.py lint    ruff and mypy
    python3 tasks.py bench [--short] [--only a,b,...]
                             the pipeline benchmark (benchmarks/pipeline.py; installs wrk)
    python3 tasks.py rules   `promtool check rules` on the alerts (installs Debian's prometheus)

    python3 tasks.py test --at WHEN [pytest arguments]
        run the tests as if it were WHEN: every process (pytest, the services, PostgreSQL) on
        one clock shifted by libfaketime (Debian's `faketime`, installed with apt-get when
        missing). WHEN is ISO 8601, Ljubljana time unless it has an offset
        (2026-12-25T10:00, 2027-10-31T02:30+01:00), or the next "<weekday> HH:MM"
        (sunday 14:00). `-m calendar` selects the tests that depend on the calendar.

Each creates `.venv` and installs the project into it, at the versions of requirements/dev.lock,
when pyproject.toml or the lock changed since the last install, then runs the command inside
that environment.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-pyproject.sha256"
LOCK = ROOT / "requirements" / "dev.lock"


def ensure_environment() -> None:
    """Create the virtual environment and install the project when its requirements changed:
    the locked versions (with their hashes) first, then the project itself without resolving."""
    if sys.version_info < (3, 11):
        sys.exit(f"Python 3.11+ is required, this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing the project and its dependencies into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "--require-hashes", "-r", str(LOCK)], check=True)
    subprocess.run([*pip, "install", "--no-deps", "-e", f"{ROOT}[dev,test]"], check=True)
    # Fails when pyproject.toml asks for something the lock does not hold (re-run
    # requirements/compile.sh).
    subprocess.run([*pip, "check"], check=True)
    STAMP.write_text(wanted)


LJUBLJANA = ZoneInfo("Europe/Ljubljana")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def moment(when: str, now: datetime) -> datetime:
    """WHEN as an aware moment: ISO 8601 (Ljubljana unless it has an offset) or the next
    "<weekday> HH:MM" in Ljubljana after `now`."""
    words = when.strip().lower().split()
    if len(words) == 2 and words[0] in WEEKDAYS:
        hour, minute = (int(part) for part in words[1].split(":"))
        local = now.astimezone(LJUBLJANA)
        day = local.date()
        while True:
            candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=LJUBLJANA)
            if day.weekday() == WEEKDAYS.index(words[0]) and candidate > local:
                return candidate
            day += timedelta(days=1)
    parsed = datetime.fromisoformat(when)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=LJUBLJANA)


def ensure_command(command: str, package: str, why: str) -> str:
    """The path of a Debian-packaged `command`, installed with apt-get when missing."""
    found = shutil.which(command)
    if found:
        return found
    apt = shutil.which("apt-get")
    if apt and os.geteuid() == 0:
        print(f"installing {package} with apt-get ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = [apt, "install", "-y", "-qq", "--no-install-recommends", package]
        if subprocess.run(install, check=False, env=env).returncode:
            # A fresh machine's package lists may be empty or stale: read them, then again.
            subprocess.run([apt, "update", "-qq"], check=True, env=env)
            subprocess.run(install, check=True, env=env)
        found = shutil.which(command)
    if not found:
        sys.exit(f"{why} needs `{command}`: install Debian's `{package}` package")
    return found


def shifted(argv: list[str], when: str) -> list[str]:
    """`argv` under libfaketime with the whole process tree's clock moved to WHEN. An offset
    ("+N"), not a fixed date ("@..."), so processes started at different times still agree."""
    now = datetime.now().astimezone()  # noqa: TID251 - the offset from the real clock
    target = moment(when, now)
    offset = (target - now).total_seconds()
    print(f"tests run as if it were {target.isoformat()} ({offset:+.0f} s)", flush=True)
    return [ensure_command("faketime", "faketime", "`test --at`"), "-f", f"{offset:+.0f}", *argv]


def main() -> int:
    commands = {
        "dev": [[str(BIN / "ticketing"), "dev"]],
        "test": [[str(BIN / "python"), "-m", "pytest"]],
        "bench": [[str(BIN / "python"), "-m", "benchmarks.pipeline"]],
        "rules": [[str(BIN / "python"), "-m", "pytest", "-q", "tests/deploy/test_monitoring.py"]],
        "lint": [
            [str(BIN / "ruff"), "check", "."],
            [str(BIN / "ruff"), "format", "--check", "."],
            [str(BIN / "mypy")],
        ],
    }
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    ensure_environment()
    extra = sys.argv[2:]
    steps = commands[sys.argv[1]]
    if sys.argv[1] == "bench":
        ensure_command("wrk", "wrk", "the HTTP sections of the benchmark")
    if sys.argv[1] == "rules":
        ensure_command("promtool", "prometheus", "checking the alerting rules")
        os.environ["REQUIRE_PROMTOOL"] = "1"  # the test fails instead of skipping
    if sys.argv[1] == "test" and extra[:1] == ["--at"]:
        if len(extra) < 2:
            sys.exit("test --at needs a moment, e.g. 'sunday 14:00' or 2026-12-25T10:00")
        steps, extra = [shifted(steps[0], extra[1])], extra[2:]
    if len(steps) == 1 and os.name == "posix":
        # Become the command, so Ctrl-C reaches it alone and it can shut down in order.
        os.chdir(ROOT)
        os.execv(steps[0][0], [*steps[0], *extra])
    for argv in steps:
        try:
            code = subprocess.run([*argv, *extra], cwd=ROOT, check=False).returncode
        except KeyboardInterrupt:
            return 130
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
