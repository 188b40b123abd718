"""Failpoints: named places where a test can make the process die on purpose.

`TICKETING_FAILPOINT=<name>` arms one point; `TICKETING_FAILPOINT_MATCH=<value>` narrows it to the
work carrying that value (a message's key or correlation id). The process then exits at once (no
clean-up, like a crash).
"""

from __future__ import annotations

import os

import structlog

log = structlog.get_logger(__name__)

CRASH_EXIT_CODE = 86


def failpoint(name: str, *, match: tuple[str, ...] = ()) -> None:
    """Exit the process immediately if this failpoint is armed (and one of `match` is wanted)."""
    if os.environ.get("TICKETING_FAILPOINT") != name:
        return
    wanted = os.environ.get("TICKETING_FAILPOINT_MATCH")
    if wanted and wanted not in match:
        return
    log.warning("failpoint reached, exiting", failpoint=name)
    os._exit(CRASH_EXIT_CODE)
