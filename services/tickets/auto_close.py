"""Background loop: close resolved tickets once their reopening window has ended."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

from services.tickets import handlers
from services.tickets.domain import LifecycleRules

log = structlog.get_logger(__name__)


class AutoCloser:
    """Every `interval_s`, close (in batches) resolved tickets past the reopening window."""

    def __init__(
        self, pool: asyncpg.Pool, rules: LifecycleRules, *, interval_s: float, batch: int = 100
    ) -> None:
        self._pool = pool
        self._rules = rules
        self._interval_s = interval_s
        self._batch = batch
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ticket-auto-close")

    async def stop(self) -> None:
        """Finish the batch being closed, then stop."""
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                closed = await handlers.close_expired(
                    self._pool, rules=self._rules, batch=self._batch
                )
                if closed:
                    log.info("tickets closed after the reopening window", count=closed)
            except Exception as error:
                log.warning("automatic closing failed; retrying later", error=repr(error))
                closed = 0
            if closed < self._batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self._interval_s)
