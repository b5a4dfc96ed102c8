"""A deduplicating work queue drained by one owned asyncio task.

Every kubesim controller (garbage collector, namespace controller, the simulator's
workload controllers) feeds one of these from its store listener (synchronous, must not
write) through :meth:`WorkQueue.add`; the queue's task calls ``process(item)`` for each
item, one at a time, on the loop thread.

Guarantees:

* An item queued several times before it is processed is processed once (like client-go's
  workqueue); an item re-added while it is being processed runs again afterwards. Items
  run in the order they were first queued.
* A failing ``process`` call is logged with its traceback and the queue moves on (callers
  that want a retry catch their own errors); if the task itself dies unexpectedly it is
  logged and restarted, never silently lost.
* The task yields to the loop after every ``yield_every`` items, so a burst of work never
  starves HTTP handlers and watchers; a larger value trades latency for throughput.
* :meth:`start` is idempotent; :meth:`stop` cancels the task and waits for it; items still
  queued are dropped (controllers are level-based and re-list on the next start).
* :meth:`wait_idle` lets tests await "nothing left to do" without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T", bound=Hashable)


class WorkQueue(Generic[T]):
    def __init__(self, name: str, process: Callable[[T], None], *, yield_every: int = 1) -> None:
        if yield_every < 1:
            raise ValueError("yield_every must be at least 1")
        self._name = name
        self._process = process
        self._yield_every = yield_every
        self._pending: dict[T, None] = {}  # insertion-ordered set
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        """Whether the worker task exists (between :meth:`start` and :meth:`stop`)."""
        return self._task is not None

    def add(self, item: T) -> None:
        """Queue ``item`` (safe to call from a store listener)."""
        self._pending[item] = None
        self._idle.clear()
        self._wakeup.set()

    def start(self) -> None:
        if self._task is not None:
            return
        self._stopping = False
        self._spawn()

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        self._pending.clear()
        self._idle.set()

    async def wait_idle(self) -> None:
        """Return once every queued item has been processed."""
        await self._idle.wait()

    def _spawn(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)
        self._task.add_done_callback(self._on_done)

    def _on_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._stopping:
            return
        log.error(
            "%s worker stopped unexpectedly; restarting", self._name, exc_info=task.exception()
        )
        self._spawn()

    async def _run(self) -> None:
        done = 0
        while True:
            if not self._pending:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            item = next(iter(self._pending))
            del self._pending[item]
            try:
                self._process(item)
            except Exception:
                log.exception("%s failed to process %r", self._name, item)
            done += 1
            if done % self._yield_every == 0:
                # Let other tasks (HTTP handlers, watchers) run between items.
                await asyncio.sleep(0)
