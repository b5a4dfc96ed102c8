"""`SingleFlight`: one run of some work shared by the callers that asked for it, with
read-your-writes: a caller never gets the result of a run that started before it called.

Guarantees:

- At most one run at a time and at most one queued: a caller that arrives while a run is in
  flight waits for the queued run (starting it after the current one), and every caller
  that arrives meanwhile shares that queued run.
- Runs are tasks of their own, owned by the `SingleFlight`: a caller that is cancelled (a
  client that went away) cancels neither the run nor the other callers waiting on it.
- A failed run raises in every caller waiting on it and is logged once; the next call
  starts a new run.
- `aclose` is the owner's shutdown: it waits for the runs in flight and queued (their
  outcome went to their callers), and any later `run` raises `RuntimeError`, so no run
  outlives it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Runs ``work`` for concurrent callers (see the module docstring)."""

    def __init__(self, work: Callable[[], Awaitable[T]], *, name: str) -> None:
        self._work = work
        self._name = name
        self._running: asyncio.Task[T] | None = None
        self._queued: asyncio.Task[T] | None = None
        self._closed = False

    async def run(self) -> T:
        """The result of a run that started after this call (`RuntimeError` once closed)."""
        if self._closed:
            raise RuntimeError(f"{self._name} is closed")
        if self._queued is not None:
            task = self._queued
        elif self._running is not None:
            task = self._queued = self._start(after=self._running)
        else:
            task = self._running = self._start(after=None)
        return await asyncio.shield(task)

    async def aclose(self) -> None:
        """Refuse new runs, then wait for the runs in flight to end."""
        self._closed = True
        pending = [t for t in (self._running, self._queued) if t is not None]
        if pending:
            await asyncio.wait(pending)

    def _start(self, *, after: asyncio.Task[T] | None) -> asyncio.Task[T]:
        async def run_after() -> T:
            if after is not None:
                await asyncio.wait([after])
                self._running, self._queued = task, None
            try:
                return await self._work()
            finally:
                if self._running is task:
                    self._running = None

        task = asyncio.create_task(run_after(), name=self._name)
        task.add_done_callback(self._report)
        return task

    def _report(self, task: asyncio.Task[T]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s failed", self._name, exc_info=task.exception())
