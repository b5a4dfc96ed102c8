"""The background operation runner: executes pending create/rebuild/delete operations.

The database is the queue. An environment's pending work is its ``operation`` column;
`OperationRunner.submit` only wakes the runner for that environment, and the runner
re-reads the row to learn what to do. Guarantees:

- Bounded concurrency: at most ``max_concurrency`` operations execute at once (a
  semaphore); the rest wait their turn.
- Per-environment serialisation: one driver task per environment id at a time. A delete
  requested while a create is running waits for the create, then runs (the driver loops
  until the row has no pending operation).
- Resume at start: `start` submits every environment whose ``operation`` is set, so nothing
  stays ``starting``/``deleting`` forever because the process died mid-operation.
- Failures are never lost: the operation is retried with capped exponential backoff (an API
  outage must not strand environments). An interruption the service expects
  (`OperationInterrupted`: the cluster unreachable, 429, 5xx) is one WARNING line; anything
  else is an ERROR with its traceback. Expected failures (render/apply errors) are handled by
  the executor itself, which records them as the environment's status and clears the
  operation.
- Prompt resumption: while any operation waits to retry, one probe task asks whether the
  cluster answers (``cluster_reachable``, every ``probe_interval``); when it answers again
  after it had not, every waiting operation retries at once with its back-off reset, so a
  long outage does not leave work waiting up to a minute after the cluster is back. The probe
  ends when nothing waits.
- `stop` cancels every driver and waits for them; an interrupted operation stays pending in
  the database and is resumed by the next `start`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from catalyst.cancellation import cancel_and_wait

logger = logging.getLogger(__name__)

_RETRY_INITIAL = 1.0
_RETRY_MAX = 60.0


class OperationInterrupted(Exception):
    """An operation stopped by its path to the cluster (unreachable, 429 after retries,
    5xx): it stays pending and is retried. The message is scrubbed of the values."""


class OperationExecutor(Protocol):
    """Runs the pending operation of one environment (see `catalyst.service.operations`)."""

    async def pending_environment_ids(self) -> list[int]:
        """Ids of every environment with a pending operation."""
        ...

    async def run_pending(self, env_id: int) -> bool:
        """Execute the environment's pending operation, if any.

        Returns False when there was nothing to do (no pending operation, or the environment
        is gone), True after one operation was executed (the driver then looks again).
        """
        ...


class OperationRunner:
    """Owns the driver tasks that execute pending operations (see module docstring)."""

    def __init__(
        self,
        executor: OperationExecutor,
        *,
        max_concurrency: int,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        cluster_reachable: Callable[[], Awaitable[object]] | None = None,
        probe_interval: float = 1.0,
    ) -> None:
        """``cluster_reachable`` raises when the cluster does not answer (the recovery
        probe; without it, retries wait out their back-off)."""
        self._executor = executor
        self._slots = asyncio.Semaphore(max_concurrency)
        self._drivers: dict[int, asyncio.Task[None]] = {}
        # Set when a submit arrives while the driver is running, so the driver looks again
        # before it exits rather than missing work queued just before its last read.
        self._rerun: set[int] = set()
        self._sleep = sleep
        self._running = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._cluster_reachable = cluster_reachable
        self._probe_interval = probe_interval
        self._probe: asyncio.Task[None] | None = None
        self._waiting = 0  # drivers waiting to retry
        self._recovered = asyncio.Event()  # replaced after each recovery

    @property
    def active(self) -> int:
        """Number of environments with a driver task."""
        return len(self._drivers)

    async def start(self) -> None:
        """Start accepting work and resume every pending operation found in the database."""
        self._running = True
        pending = await self._executor.pending_environment_ids()
        if pending:
            logger.info("resuming pending operations of environments %s", pending)
        for env_id in pending:
            self.submit(env_id)

    def submit(self, env_id: int) -> None:
        """Make sure the environment's pending operation gets executed (idempotent)."""
        if not self._running:
            # Work stays pending in the database; the next start resumes it.
            logger.warning("runner stopped; operation of environment %s left pending", env_id)
            return
        if env_id in self._drivers:
            self._rerun.add(env_id)
            return
        self._idle.clear()
        task = asyncio.create_task(self._drive(env_id), name=f"operation-env-{env_id}")
        self._drivers[env_id] = task
        task.add_done_callback(functools.partial(self._forget, env_id))

    async def wait_idle(self) -> None:
        """Wait until no driver is running in this process (bound it with a timeout)."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Cancel every driver and wait for them to finish (a driver's failure is logged
        when it ends; a cancellation of the caller propagates)."""
        self._running = False
        await cancel_and_wait(list(self._drivers.values()))
        if self._probe is not None:
            for error in await cancel_and_wait([self._probe]):
                logger.error("cluster recovery probe failed", exc_info=error)
            self._probe = None

    def _forget(self, env_id: int, task: asyncio.Task[None]) -> None:
        if self._drivers.get(env_id) is task:
            del self._drivers[env_id]
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "operation driver of environment %s crashed", env_id, exc_info=task.exception()
            )
        if not self._drivers:
            self._idle.set()

    async def _drive(self, env_id: int) -> None:
        try:
            await self._drive_until_done(env_id)
        finally:
            # Unregister synchronously (not in the done callback, which runs a loop turn
            # later) so a submit arriving after this point starts a fresh driver.
            if self._drivers.get(env_id) is asyncio.current_task():
                del self._drivers[env_id]

    async def _drive_until_done(self, env_id: int) -> None:
        delay = _RETRY_INITIAL
        while True:
            self._rerun.discard(env_id)
            try:
                async with self._slots:
                    did_work = await self._executor.run_pending(env_id)
            except asyncio.CancelledError:
                raise
            except OperationInterrupted as exc:
                logger.warning(
                    "environment %s: operation interrupted (%s); retrying in %.0f s",
                    env_id,
                    exc,
                    delay,
                )
            except Exception:
                logger.exception(
                    "operation of environment %s failed; retrying in %.0f s", env_id, delay
                )
            else:
                delay = _RETRY_INITIAL
                if not did_work and env_id not in self._rerun:
                    return
                continue
            recovered = await self._wait_to_retry(delay)
            delay = _RETRY_INITIAL if recovered else min(delay * 2, _RETRY_MAX)

    async def _wait_to_retry(self, delay: float) -> bool:
        """Wait ``delay`` seconds, or less if the cluster answers again meanwhile (then
        return True)."""
        recovered = self._recovered
        self._waiting += 1
        self._ensure_probe()
        sleeping = asyncio.ensure_future(self._sleep(delay))
        waking = asyncio.ensure_future(recovered.wait())
        try:
            await asyncio.wait({sleeping, waking}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._waiting -= 1
            await cancel_and_wait([sleeping, waking])
        return recovered.is_set()

    def _ensure_probe(self) -> None:
        if self._cluster_reachable is None or self._probe is not None or not self._running:
            return
        self._probe = asyncio.create_task(self._probe_cluster(), name="operation-recovery-probe")
        self._probe.add_done_callback(self._probe_ended)

    def _probe_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("cluster recovery probe failed", exc_info=task.exception())

    async def _probe_cluster(self) -> None:
        """While operations wait to retry: wake them all when the cluster answers again
        after it had not."""
        assert self._cluster_reachable is not None
        unreachable = False
        try:
            while self._waiting:
                try:
                    await self._cluster_reachable()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    unreachable = True
                else:
                    if unreachable:
                        logger.info("cluster answers again: resuming waiting operations now")
                        self._recovered.set()
                        self._recovered = asyncio.Event()
                        unreachable = False
                await asyncio.sleep(self._probe_interval)
        finally:
            # Unregister synchronously, so a driver that starts waiting from now on starts
            # a new probe rather than counting on this one.
            if self._probe is asyncio.current_task():
                self._probe = None
