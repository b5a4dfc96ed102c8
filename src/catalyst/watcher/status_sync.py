"""Status sync: cluster events in, environments to evaluate out (the watcher's status feed).

The :class:`StatusSync` runs on the leader only. It owns a :class:`ClusterCache` and turns
every change it sees into an evaluation of the environment the object belongs to:

1. An informer callback (or a timer, or a change in the database) marks the environment
   *dirty*: it adds its id to the sync's `WorkQueue`. Marking is cheap and coalesces: ten
   pod updates of one environment before the worker gets to it cost one evaluation.
2. A few workers (``workers``, like client-go's controller workers) take dirty environments
   from the queue in arrival order, never two workers the same environment (the queue's
   guarantees, `catalyst.watcher.workqueue`). Each hands the environment, with a view of the
   cache (no cluster request), to the `StatusWriter` it was given: the one narrow way out of
   this package. The writer (`catalyst.leader.status_writer`) decides what is stored and
   says whether a status changed, whether the environment is gone, whether its row kept
   changing under the evaluation (then it is marked dirty again), and when time alone could
   change its verdict.
3. That ``next_evaluation_in`` (a crash-loop window ending, a timeout) becomes a delayed add
   to the queue that marks the environment dirty again, so time-based rules fire without
   events.

Which kinds are watched: the writer's poll also reports the kinds held by live
environments' inventories whenever any environment changed; the sync hands them to the
cache (`ClusterCache.set_kinds`), waits (bounded) for new kinds' informers to list, and only
then marks the changed environments dirty, so a new kind's objects are in the cache before
the evaluation that needs them. At start this happens before the cache starts.

Other sources of dirtiness: the writer's poll of the environments' rows (changes made by API
requests or operations on any replica: a new environment, a rebuild, a delete, an applied
revision) and a periodic full resync (``resync_period``) as a safety net.

Staleness (status-spec decision 1): while the cache is not synced, or any informer has been
unable to list/watch for longer than the STALE threshold, nothing is evaluated or written
— the last known statuses stay, and the API marks them ``stale``. When the data is fresh
again, every environment is re-evaluated, and the time spent stale is handed to the writer
with it (``stale_for``), so an outage never makes an environment fail or expire sooner.
A monitor notices staleness starting and ending even when no event wakes a worker, and the
stale period starts when the data became stale (an informer's outage start plus STALE), not
when a worker first looked. An environment's credit is kept until the evaluation carrying
it was stored (a failed or contended write keeps it for the next one), and
`awaits_reevaluation` tells the reaper which environments it must not touch yet: while the
data is stale, while a stale period has ended but its credit is not handed out, and while
an environment's credit is not stored. So the reaper never deletes with an expiry the
outage should have pushed back.

Restart safety: nothing here is needed across restarts. A new leader relists, evaluates
every live environment against the fresh cache, and the database converges; transitions
are decided from the stored state, so none is lost or recorded twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from catalyst.cluster.labels import environment_id_of
from catalyst.cluster.reader import EnvironmentSnapshot
from catalyst.domain import StatusThresholds
from catalyst.watcher import metrics
from catalyst.watcher.cluster_cache import ClusterCache
from catalyst.watcher.informer import DeletedFinalStateUnknown
from catalyst.watcher.workqueue import WorkQueue

logger = logging.getLogger(__name__)

DEFAULT_WORKERS = 4
"""Evaluations in flight at once. Each one waits on database round trips more than it
computes, so a few in parallel keep up with event bursts the single one fell behind on."""


@dataclass(frozen=True, slots=True)
class Evaluated:
    """What became of one environment handed to the `StatusWriter`."""

    outcome: Literal["stored", "gone", "contended"] = "stored"
    """``stored``: evaluated (and written if anything changed); ``gone``: the environment no
    longer exists; ``contended``: its row kept changing under the evaluation, try later."""
    written_status: tuple[str, str | None] | None = None
    """(status, failure kind) when a status change was written."""
    next_evaluation_in: float | None = None
    """Seconds until time alone could change the verdict (None: nothing pending)."""


GONE = Evaluated("gone")
CONTENDED = Evaluated("contended")


@dataclass(frozen=True, slots=True)
class PolledChanges:
    """Environments whose stored row changed since the last poll, and those now gone."""

    changed: Sequence[int]
    gone: Sequence[int]
    kinds: frozenset[tuple[str, str]] | None = None
    """Every (apiVersion, kind) in a live environment's inventory; None: not read this time
    (nothing changed), keep watching what is watched."""


class StatusWriter(Protocol):
    """Where the sync hands each environment to evaluate (the leader's writer)."""

    async def poll(self) -> PolledChanges:
        """Live environments changed by any writer since the last poll, and gone ones; with
        the inventories' kinds whenever anything changed (always on the first poll)."""
        ...

    async def write(
        self,
        env_id: int,
        snapshot_of: Callable[[str, int], EnvironmentSnapshot],
        *,
        stale_for: float = 0.0,
    ) -> Evaluated:
        """Evaluate one environment from ``snapshot_of(namespace, id)`` and store what
        changed; ``stale_for`` is the time its data was stale before."""
        ...


def _environment_id(obj: dict[str, Any] | DeletedFinalStateUnknown | None) -> int | None:
    if isinstance(obj, DeletedFinalStateUnknown):
        obj = obj.obj
    return None if obj is None else environment_id_of(obj)


class StatusSync:
    """Keeps stored statuses equal to what the cluster cache shows (leader only)."""

    def __init__(
        self,
        *,
        cache: ClusterCache,
        writer: StatusWriter,
        thresholds: StatusThresholds,
        poll_interval: float = 1.0,
        resync_period: float = 60.0,
        sync_timeout: float = 60.0,
        workers: int = DEFAULT_WORKERS,
        stale_before: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``stale_before``: seconds the data had already been stale when this sync starts
        (nobody watched: the previous leader lost the Lease in an outage, or no replica
        ran); credited, like a stale period this sync sees itself, to every environment
        once the cache is synced."""
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.cache = cache
        self._writer = writer
        self._thresholds = thresholds
        self._poll_interval = poll_interval
        self._resync_period = resync_period
        self._sync_timeout = sync_timeout
        self._workers = workers
        self._clock = clock
        # dirty environment ids, each with the time of its oldest event not yet evaluated
        self._queue: WorkQueue[int] = WorkQueue(clock=clock)
        # every live environment seen (for the resync and for giving back stale time)
        self._known: set[int] = set()
        self._stale_since: float | None = clock() - stale_before if stale_before > 0 else None
        """When the data became stale (None: fresh, or the stale period was handed out)."""
        self._stale_recheck: asyncio.TimerHandle | None = None
        self._stale_credit: dict[int, float] = {}
        self.evaluations = 0
        self.synced = asyncio.Event()

    # -- informer callbacks: mark environments dirty ---------------------------------------

    def on_add(self, obj: dict[str, Any], is_initial: bool) -> None:
        self._mark_object(obj)

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self._mark_object(new)

    def on_delete(self, obj: dict[str, Any] | DeletedFinalStateUnknown) -> None:
        self._mark_object(obj)

    def _mark_object(self, obj: dict[str, Any] | DeletedFinalStateUnknown) -> None:
        env_id = _environment_id(obj)
        if env_id is not None:
            self.mark_dirty(env_id)

    def mark_dirty(self, env_id: int) -> None:
        self._queue.add(env_id)

    # -- running -----------------------------------------------------------------------------

    def is_stale(self) -> bool:
        return (
            not self.cache.has_synced()
            or self.cache.unhealthy_for() > self._thresholds.stale.total_seconds()
        )

    def awaits_reevaluation(self, env_id: int) -> bool:
        """True while ``env_id``'s stored expiry may still lack stale time to be credited:
        the data is stale, a stale period ended but its credit is not handed out yet, or
        the environment's evaluation with its credit has not been stored. The reaper
        leaves such an environment alone (decision 1: no expiry from an outage)."""
        return self.is_stale() or self._stale_since is not None or env_id in self._stale_credit

    async def run(self) -> None:
        """Start the cache, converge every environment, then follow changes until cancelled."""
        await self.cache.build()
        self.cache.add_event_handler(self)
        try:
            # The first poll names every live environment and the kinds to watch: the
            # cache starts with exactly those informers.
            first = await self._writer.poll()
            if first.kinds is not None:
                await self.cache.set_kinds(first.kinds)
            await self.cache.start()
            if not await self.cache.wait_for_sync(self._sync_timeout):
                logger.warning(
                    "watcher: informers not synced after %ss; still waiting", self._sync_timeout
                )
            await self._apply_changes(first)  # every live environment starts dirty
            async with asyncio.TaskGroup() as tasks:
                for n in range(self._workers):
                    tasks.create_task(self._work(), name=f"status-sync worker {n}")
                tasks.create_task(self._poll_loop(), name="status-sync db poll")
                tasks.create_task(self._resync_loop(), name="status-sync resync")
                tasks.create_task(self._staleness_loop(), name="status-sync staleness")
        finally:
            self._queue.cancel_all_delayed()
            if self._stale_recheck is not None:
                self._stale_recheck.cancel()
                self._stale_recheck = None
            await self.cache.stop()

    async def _work(self) -> None:
        while True:
            item = None if self._hold_while_stale() else self._queue.take()
            if item is None:
                if self._queue.is_idle() and not self.is_stale():
                    self.synced.set()
                await self._queue.wait()
                continue
            env_id, first_seen = item
            try:
                await self.evaluate(env_id, first_seen)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("watcher: evaluating environment %s failed", env_id)
            finally:
                self._queue.done(env_id)

    def _recheck_staleness(self) -> None:
        self._stale_recheck = None
        self._queue.wake()

    def _hold_while_stale(self) -> bool:
        """True (and wakes again later) while data is stale; credits the stale time after."""
        if self.is_stale():
            if self._stale_since is None and self.cache.has_synced():
                logger.warning("watcher: cluster data is stale; statuses are frozen")
            if self._stale_since is None:
                self._stale_since = self._became_stale_at()
            if self._stale_recheck is None:  # one timer for all workers
                self._stale_recheck = asyncio.get_running_loop().call_later(
                    0.5, self._recheck_staleness
                )
            return True
        if self._stale_since is not None:
            stale_for = self._clock() - self._stale_since
            self._stale_since = None
            logger.info("watcher: cluster data fresh again after %.1fs; re-evaluating", stale_for)
            for env_id in self._known:
                self._stale_credit[env_id] = self._stale_credit.get(env_id, 0.0) + stale_for
                self.mark_dirty(env_id)
        return False

    def _became_stale_at(self) -> float:
        """When the data became stale: STALE after the longest informer outage began (the
        monotonic clock), or now when the cache is not synced or no outage is running."""
        now = self._clock()
        if not self.cache.has_synced():
            return now
        late_by = self.cache.unhealthy_for() - self._thresholds.stale.total_seconds()
        return now - max(0.0, late_by)

    async def _staleness_loop(self) -> None:
        """Wake the workers when the data turns stale or fresh, so the stale period is
        noticed (and later credited) even when no event or timer would wake them."""
        interval = min(0.5, max(0.05, self._thresholds.stale.total_seconds() / 4))
        while True:
            await asyncio.sleep(interval)
            if self.is_stale() != (self._stale_since is not None):
                self._queue.wake()

    async def evaluate(self, env_id: int, first_seen: float | None = None) -> None:
        """Hand one environment to the writer and act on the outcome (metrics, re-adds).

        The environment's stale credit stays recorded until the write that carries it was
        stored (`awaits_reevaluation`); credit added meanwhile (another stale period) stays
        for the next evaluation."""
        credit = self._stale_credit.get(env_id, 0.0)
        evaluated = await self._writer.write(env_id, self.cache.snapshot, stale_for=credit)
        if evaluated.outcome == "gone":
            self._forget(env_id)
            return
        if evaluated.outcome == "contended":
            logger.warning("watcher: environment %s kept changing under evaluation", env_id)
            self.mark_dirty(env_id)
            return
        if credit:
            remaining = self._stale_credit.pop(env_id, 0.0) - credit
            if remaining > 0.0:
                self._stale_credit[env_id] = remaining
        self.evaluations += 1
        self._known.add(env_id)
        if evaluated.written_status is not None:
            status, failure_kind = evaluated.written_status
            metrics.STATUS_TRANSITIONS.labels(status, failure_kind or "none").inc()
            if first_seen is not None:
                metrics.EVENT_TO_WRITE_SECONDS.observe(self._clock() - first_seen)
        self._schedule(env_id, evaluated.next_evaluation_in)

    def _schedule(self, env_id: int, delay: float | None) -> None:
        """Evaluate again after `delay` seconds (None: no time-based re-evaluation)."""
        if delay is None:
            self._queue.cancel_delayed(env_id)
        else:
            self._queue.add_after(env_id, delay)

    def _forget(self, env_id: int) -> None:
        self._queue.cancel_delayed(env_id)
        self._known.discard(env_id)
        self._stale_credit.pop(env_id, None)
        self.cache.forget_environment(env_id)

    async def _poll_database(self) -> None:
        """Mark environments whose row changed since the last poll (any replica's writes)."""
        await self._apply_changes(await self._writer.poll())

    async def _apply_changes(self, changes: PolledChanges) -> None:
        """Watch the kinds the inventories hold (new informers listed first, bounded by the
        sync timeout), then mark the changed environments dirty and forget gone ones."""
        if changes.kinds is not None:
            started = (await self.cache.set_kinds(changes.kinds)).started
            if started and not await self.cache.wait_for_kinds(started, self._sync_timeout):
                logger.warning("watcher: informers of %s not synced; evaluating anyway", started)
        for env_id in changes.changed:
            self._known.add(env_id)
            self.mark_dirty(env_id)
        for env_id in changes.gone:
            self._forget(env_id)

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                await self._poll_database()
                await self._resolve_missing_kinds()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("watcher: polling the database for changes failed")

    async def _resolve_missing_kinds(self) -> None:
        """Start the informers whose kinds could not be resolved while the cluster did not
        answer (the cache is not synced until they are)."""
        started = (await self.cache.retry_unresolved()).started
        if started and not await self.cache.wait_for_kinds(started, self._sync_timeout):
            logger.warning("watcher: informers of %s not synced; evaluating anyway", started)

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self._resync_period)
            for env_id in list(self._known):
                self.mark_dirty(env_id)
