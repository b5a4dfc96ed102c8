"""`RetryWait`: waiting out a retry back-off, cut short when the cluster answers again.

An operation interrupted by an outage retries with a growing back-off (up to a minute). When
the outage ends, waiting out that back-off would leave work undone long after the cluster is
back, so while any caller waits, one probe task asks whether the cluster answers
(``cluster_reachable``, every ``probe_interval``); when it answers *after it had not* (the
probe saw it down, or a caller's failure was the cluster not answering at all), every
waiting caller is woken at once. That knowledge outlives a probe task (a probe ends when
nobody waits and the next waiter starts a new one), so a recovery between two waits is not
missed. A failure that was not an outage (a 500 on one object, with the probe never seeing
the cluster down) keeps its back-off, so it does not hammer the server.

The probe task is owned here: started by the first waiter, ended when nobody waits, and
cancelled by `stop`; its failure is logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from catalyst.cancellation import cancel_and_wait

logger = logging.getLogger(__name__)


class RetryWait:
    """Back-off waits that a cluster recovery ends early (see module docstring)."""

    def __init__(
        self,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        cluster_reachable: Callable[[], Awaitable[object]] | None = None,
        probe_interval: float = 1.0,
    ) -> None:
        """``cluster_reachable`` raises when the cluster does not answer; without it, waits
        last their whole ``delay``."""
        self._sleep = sleep
        self._cluster_reachable = cluster_reachable
        self._probe_interval = probe_interval
        self._probe: asyncio.Task[None] | None = None
        self._waiting = 0
        self._recovered = asyncio.Event()  # replaced after each recovery
        self._outage = False  # the cluster was seen not answering, and has not answered since
        self._stopped = False

    async def wait(self, delay: float, *, after_outage: bool = False) -> bool:
        """Wait ``delay`` seconds, or less if the cluster answers again meanwhile (then
        return True). ``after_outage``: the caller's failure was the cluster not answering."""
        if after_outage:
            self._outage = True
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

    async def stop(self) -> None:
        """Stop the probe (waiters then wait out their delays)."""
        self._stopped = True
        if self._probe is not None:
            for error in await cancel_and_wait([self._probe]):
                logger.error("cluster recovery probe failed", exc_info=error)
            self._probe = None

    def _ensure_probe(self) -> None:
        if self._cluster_reachable is None or self._probe is not None or self._stopped:
            return
        self._probe = asyncio.create_task(self._run_probe(), name="cluster-recovery-probe")
        self._probe.add_done_callback(_report_probe_failure)

    async def _run_probe(self) -> None:
        assert self._cluster_reachable is not None
        try:
            while self._waiting:
                try:
                    await self._cluster_reachable()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self._outage = True
                else:
                    if self._outage:
                        logger.info("cluster answers again: resuming waiting operations now")
                        self._outage = False
                        self._recovered.set()
                        self._recovered = asyncio.Event()
                await asyncio.sleep(self._probe_interval)
        finally:
            # Unregister synchronously, so a caller that starts waiting from now on starts
            # a new probe rather than counting on this one.
            if self._probe is asyncio.current_task():
                self._probe = None


def _report_probe_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("cluster recovery probe failed", exc_info=task.exception())
