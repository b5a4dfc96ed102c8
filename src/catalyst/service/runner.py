"""The background operation runner: executes pending create/rebuild/delete operations.

The database is the queue. An environment's pending work is its ``operation`` column;
`OperationRunner.submit` only wakes the runner for that environment, and the runner
re-reads the row to learn what to do. Guarantees:

- Bounded concurrency: at most ``max_concurrency`` operations execute at once (a
  semaphore); the rest wait their turn.
- Per-environment serialisation: one driver task per environment id at a time. A delete
  requested while a create is running waits for the create, then runs (the driver loops
  until the row has no pending operation).
- One replica per operation (with ``claims``): each attempt first claims the environment's
  operation (`catalyst.store.operation_claims`) and renews the claim while it runs; when
  another replica holds a live claim the driver ends (that replica's driver loops over the
  row and does the work). A driver that loses its claim (it could not renew in time and
  another replica took over) is cancelled: the operation is never run by two replicas
  beyond one renewal period. The claim is released after each attempt, so a replica
  waiting out a back-off (say, cut off from the cluster) leaves the operation to any
  replica that can run it. During an outage every replica that picked the operation up
  retries it on its own back-off; when the cluster answers, one of them wins the claim.
- Resume at start, and on whichever replica is alive: `start` submits every environment
  whose ``operation`` is set, and with ``claims`` a sweep every ``sweep_interval`` submits
  the pending operations nobody holds a live claim on (their replica died, or stopped), so
  nothing stays ``starting``/``deleting`` until that replica comes back.
- Failures are never lost: the operation is retried with capped exponential backoff (an API
  outage must not strand environments), cut short when the cluster answers again
  (`catalyst.service.retry_wait`). An interruption the service expects
  (`OperationInterrupted`: the cluster unreachable, 429, 5xx) is one WARNING line; anything
  else is an ERROR with its traceback. Expected failures (render/apply errors) are handled by
  the executor itself, which records them as the environment's status and clears the
  operation.
- `stop` cancels every driver and the sweep and waits for them; an interrupted operation
  stays pending in the database (its claim released) and is resumed by another replica's
  sweep or the next `start`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Protocol

from catalyst.cancellation import cancel_and_wait
from catalyst.service.retry_wait import RetryWait

logger = logging.getLogger(__name__)

_RETRY_INITIAL = 1.0
_RETRY_MAX = 60.0


class _NotClaimed(Exception):
    """Another replica holds the operation (or the claim could not be read): the driver
    ends and leaves it to that replica, or to the next sweep."""


class OperationInterrupted(Exception):
    """An operation stopped by its path to the cluster (unreachable, 429 after retries,
    5xx): it stays pending and is retried. The message is scrubbed of the values;
    ``unreachable`` says the cluster did not answer at all (an outage, which the retry wait
    ends as soon as the cluster answers again)."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


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


class OperationClaimer(Protocol):
    """This replica's claims on operations (`catalyst.store.operation_claims`)."""

    ttl: timedelta

    async def claim(self, environment_id: int) -> bool: ...

    async def renew(self, environment_id: int) -> bool: ...

    async def release(self, environment_id: int) -> None: ...

    async def pending_unclaimed(self) -> list[int]: ...


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
        claims: OperationClaimer | None = None,
        sweep_interval: float = 5.0,
    ) -> None:
        """``cluster_reachable`` raises when the cluster does not answer (it ends back-offs
        early when the cluster recovers); ``claims`` makes the runner share the work with
        other replicas (without it, this process is the only one)."""
        self._executor = executor
        self._slots = asyncio.Semaphore(max_concurrency)
        self._drivers: dict[int, asyncio.Task[None]] = {}
        # Set when a submit arrives while the driver is running, so the driver looks again
        # before it exits rather than missing work queued just before its last read.
        self._rerun: set[int] = set()
        self._running = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._retry_wait = RetryWait(
            sleep=sleep, cluster_reachable=cluster_reachable, probe_interval=probe_interval
        )
        self._claims = claims
        self._sweep_interval = sweep_interval
        self._sweep: asyncio.Task[None] | None = None

    @property
    def active(self) -> int:
        """Number of environments with a driver task."""
        return len(self._drivers)

    async def start(self) -> None:
        """Start accepting work and resume every pending operation found in the database
        (and, with claims, keep sweeping for operations nobody runs)."""
        self._running = True
        pending = await self._executor.pending_environment_ids()
        if pending:
            logger.info("resuming pending operations of environments %s", pending)
        for env_id in pending:
            self.submit(env_id)
        if self._claims is not None:
            self._sweep = asyncio.create_task(self._sweep_loop(), name="operation-sweep")
            self._sweep.add_done_callback(_report_sweep_end)

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
        """Cancel the sweep and every driver and wait for them to finish (a driver's failure
        is logged when it ends; a cancellation of the caller propagates)."""
        self._running = False
        if self._sweep is not None:
            await cancel_and_wait([self._sweep])
            self._sweep = None
        await cancel_and_wait(list(self._drivers.values()))
        await self._retry_wait.stop()

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
            unreachable = False
            try:
                async with self._slots:
                    did_work = await self._attempt(env_id)
            except asyncio.CancelledError:
                raise
            except _NotClaimed:
                return
            except OperationInterrupted as exc:
                unreachable = exc.unreachable
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
            recovered = await self._retry_wait.wait(delay, after_outage=unreachable)
            delay = _RETRY_INITIAL if recovered else min(delay * 2, _RETRY_MAX)

    async def _attempt(self, env_id: int) -> bool:
        """Run the pending operation once; with claims, only while holding its claim (so a
        replica waiting out a back-off leaves the operation to any other that can run it).
        Raises `_NotClaimed` when another replica holds it."""
        if self._claims is None:
            return await self._executor.run_pending(env_id)
        async with self._claim(env_id, self._claims):
            return await self._executor.run_pending(env_id)

    @asynccontextmanager
    async def _claim(self, env_id: int, claims: OperationClaimer) -> AsyncIterator[None]:
        """Hold the environment's claim (renewed meanwhile) for the duration of the block;
        the current task is cancelled if the claim is lost."""
        try:
            claimed = await claims.claim(env_id)
        except Exception as exc:  # the sweep submits it again
            logger.warning("environment %s: operation not claimed (%s)", env_id, exc)
            raise _NotClaimed from None
        if not claimed:
            logger.debug("environment %s: operation held by another replica", env_id)
            raise _NotClaimed
        driver = asyncio.current_task()
        assert driver is not None
        keeper = asyncio.create_task(
            self._keep_claim(env_id, claims, driver), name=f"operation-claim-env-{env_id}"
        )
        try:
            yield
        finally:
            for error in await cancel_and_wait([keeper]):
                logger.error("claim keeper of environment %s failed", env_id, exc_info=error)
            try:
                await claims.release(env_id)
            except Exception as exc:  # it expires on its own
                logger.warning("environment %s: claim not released (%s)", env_id, exc)

    async def _keep_claim(
        self, env_id: int, claims: OperationClaimer, driver: asyncio.Task[None]
    ) -> None:
        """Renew the claim every third of its lifetime; cancel the driver once it may have
        been taken over (renewal refused, or no renewal succeeded for a whole lifetime)."""
        ttl = claims.ttl.total_seconds()
        loop = asyncio.get_running_loop()
        renewed_at = loop.time()
        while True:
            await asyncio.sleep(ttl / 3)
            try:
                held = await claims.renew(env_id)
            except Exception as exc:
                logger.warning("environment %s: claim not renewed (%s)", env_id, exc)
                held = loop.time() - renewed_at < ttl
            else:
                renewed_at = loop.time()
            if not held:
                logger.warning(
                    "environment %s: claim on the operation lost; another replica runs it",
                    env_id,
                )
                driver.cancel()
                return

    async def _sweep_loop(self) -> None:
        """Submit pending operations that no replica holds a live claim on."""
        assert self._claims is not None
        while True:
            await asyncio.sleep(self._sweep_interval)
            try:
                orphans = [
                    i for i in await self._claims.pending_unclaimed() if i not in self._drivers
                ]
            except Exception as exc:
                logger.warning("operation sweep failed (%s); trying again", exc)
                continue
            if orphans:
                logger.info("taking over pending operations of environments %s", orphans)
            for env_id in orphans:
                self.submit(env_id)


def _report_sweep_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("operation sweep stopped", exc_info=task.exception())
