"""A background loop a service runs beside its consumers (notify's sender, tickets' auto-close)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


class PeriodicWorker:
    """Run `sweep` over and over: again at once while it handled a full batch, otherwise after
    `interval_s`. A failing sweep is logged and tried again after the wait; the loop goes on."""

    def __init__(
        self,
        name: str,
        sweep: Callable[[], Awaitable[int]],
        *,
        batch_size: int,
        interval_s: float,
    ) -> None:
        self._name = name
        self._sweep = sweep
        self._batch_size = batch_size
        self._interval_s = interval_s
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Finish the sweep in progress, then stop."""
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                done = await self._sweep()
            except Exception as error:
                log.warning(
                    "background sweep failed; retrying", worker=self._name, error=repr(error)
                )
                done = 0
            if done < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self._interval_s)
