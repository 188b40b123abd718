"""Failpoints: named places where a test can make the process die on purpose.

`TICKETING_FAILPOINT=<name>` arms one point; `TICKETING_FAILPOINT_KEY=<key>` narrows it to the
message with that Kafka key. The process then exits at once (no clean-up, like a crash).
"""

from __future__ import annotations

import os

import structlog

log = structlog.get_logger(__name__)

CRASH_EXIT_CODE = 86


def failpoint(name: str, *, key: str | None = None) -> None:
    """Exit the process immediately if this failpoint is armed (and the key matches)."""
    if os.environ.get("TICKETING_FAILPOINT") != name:
        return
    wanted_key = os.environ.get("TICKETING_FAILPOINT_KEY")
    if wanted_key and wanted_key != key:
        return
    log.warning("failpoint reached, exiting", failpoint=name, key=key)
    os._exit(CRASH_EXIT_CODE)
