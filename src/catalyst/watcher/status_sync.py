"""Status sync: cluster events in, stored environment statuses out.

The :class:`StatusSync` runs on the leader only. It owns a :class:`ClusterCache` and turns
every change it sees into an evaluation of the environment the object belongs to:

1. An informer callback (or a timer, or a change in the database) marks the environment
   *dirty*: it adds its id to the sync's `WorkQueue`. Marking is cheap and coalesces: ten
   pod updates of one environment before the worker gets to it cost one evaluation.
2. A few workers (``workers``, like client-go's controller workers) take dirty environments
   from the queue in arrival order, never two workers the same environment (the queue's
   guarantees, `catalyst.watcher.workqueue`). Each takes the record it last read or wrote
   (re-read only when the database poll saw another writer change the row, or a write found
   it stale) and the inventory (re-read only when a new revision was applied), builds the
   environment's snapshot from the cache (no cluster request), and hands it to
   :meth:`StatusService.apply_observation` — the same rules and state machine
   ``?latestStatus=1`` uses. Writes happen only when something changed, with the
   status-change row in the same transaction, so an event that changes nothing an
   environment's status depends on costs no database round trip at all. Writes carry the
   record's version: a record another writer changed in the meantime is refused
   (`StaleRecord`), re-read and re-evaluated.
3. The verdict's ``next_evaluation_at`` (a crash-loop window ending, a timeout) becomes a
   delayed add to the queue that marks the environment dirty again, so time-based rules
   fire without events.

Other sources of dirtiness: a poll of the environments' versions (changes made by API
requests or operations on any replica: a new environment, a rebuild, a delete, an applied
revision) and a periodic full resync (``resync_period``) as a safety net.

Staleness (status-spec decision 1): while the cache is not synced, or any informer has been
unable to list/watch for longer than the STALE threshold, nothing is evaluated or written
— the last known statuses stay, and the API marks them ``stale``. When the data is fresh
again, every environment is re-evaluated, and the time spent stale is given back to its
clocks (crash-loop windows, timeouts, the expiry), so an outage never makes an
environment fail or expire sooner.

Restart safety: nothing here is needed across restarts. A new leader relists, evaluates
every live environment against the fresh cache, and the database converges; transitions
are decided from the stored state, so none is lost or recorded twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from catalyst.domain import StatusThresholds
from catalyst.service.status import WATCHER_SOURCE, StatusService, observation_for
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.errors import StaleRecord
from catalyst.store.records import EnvironmentRecord, Inventory
from catalyst.watcher import metrics
from catalyst.watcher.cluster_cache import ClusterCache
from catalyst.watcher.informer import DeletedFinalStateUnknown
from catalyst.watcher.workqueue import WorkQueue

logger = logging.getLogger(__name__)

DEFAULT_WORKERS = 4
"""Evaluations in flight at once. Each one waits on database round trips more than it
computes, so a few in parallel keep up with event bursts the single one fell behind on."""
ENVIRONMENT_LABEL = "catalyst.io/environment-id"
_MAX_ATTEMPTS = 5


def _environment_id(obj: dict[str, Any] | DeletedFinalStateUnknown | None) -> int | None:
    if isinstance(obj, DeletedFinalStateUnknown):
        obj = obj.obj
    if obj is None:
        return None
    value = ((obj.get("metadata") or {}).get("labels") or {}).get(ENVIRONMENT_LABEL)
    return int(value) if isinstance(value, str) and value.isdigit() else None


class StatusSync:
    """Keeps stored statuses equal to what the cluster cache shows (leader only)."""

    def __init__(
        self,
        *,
        cache: ClusterCache,
        environments: EnvironmentRepository,
        status: StatusService,
        thresholds: StatusThresholds,
        poll_interval: float = 1.0,
        resync_period: float = 60.0,
        sync_timeout: float = 60.0,
        workers: int = DEFAULT_WORKERS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, not {workers}")
        self.cache = cache
        self._environments = environments
        self._status = status
        self._thresholds = thresholds
        self._poll_interval = poll_interval
        self._resync_period = resync_period
        self._sync_timeout = sync_timeout
        self._workers = workers
        self._clock = clock
        # dirty environment ids, each with the time of its oldest event not yet evaluated
        self._queue: WorkQueue[int] = WorkQueue(clock=clock)
        self._known_versions: dict[int, int] = {}
        # the record as last read or written; valid while its version is the known one
        self._records: dict[int, EnvironmentRecord] = {}
        self._inventories: dict[int, tuple[int | None, Inventory]] = {}
        self._stale_since: float | None = None
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

    async def run(self) -> None:
        """Start the cache, converge every environment, then follow changes until cancelled."""
        await self.cache.build()
        self.cache.add_event_handler(self)
        await self.cache.start()
        try:
            if not await self.cache.wait_for_sync(self._sync_timeout):
                logger.warning(
                    "watcher: informers not synced after %ss; still waiting", self._sync_timeout
                )
            await self._poll_database()  # every live environment starts dirty
            async with asyncio.TaskGroup() as tasks:
                for n in range(self._workers):
                    tasks.create_task(self._work(), name=f"status-sync worker {n}")
                tasks.create_task(self._poll_loop(), name="status-sync db poll")
                tasks.create_task(self._resync_loop(), name="status-sync resync")
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
                self._stale_since = self._clock()
            if self._stale_recheck is None:  # one timer for all workers
                self._stale_recheck = asyncio.get_running_loop().call_later(
                    0.5, self._recheck_staleness
                )
            return True
        if self._stale_since is not None:
            stale_for = self._clock() - self._stale_since
            self._stale_since = None
            logger.info("watcher: cluster data fresh again after %.1fs; re-evaluating", stale_for)
            for env_id in self._known_versions:
                self._stale_credit[env_id] = self._stale_credit.get(env_id, 0.0) + stale_for
                self.mark_dirty(env_id)
        return False

    async def evaluate(self, env_id: int, first_seen: float | None = None) -> None:
        """Evaluate one environment from the cache and store the outcome if it changed."""
        for _ in range(_MAX_ATTEMPTS):
            record = await self._record(env_id)
            if record is None:
                self._forget(env_id)
                return
            inventory = await self._inventory(env_id, record.applied_revision)
            snapshot = self.cache.snapshot(record.namespace, env_id)
            credit = self._stale_credit.pop(env_id, 0.0)
            try:
                observed = await self._status.apply_observation(
                    record,
                    observation_for(record, inventory, snapshot),
                    WATCHER_SOURCE,
                    stale_for=timedelta(seconds=credit) if credit else None,
                )
            except StaleRecord:
                self._records.pop(env_id, None)
                if credit:
                    self._stale_credit[env_id] = credit
                continue  # another writer got there first: read again and re-evaluate
            self.evaluations += 1
            stored = observed.record
            self._known_versions[env_id] = stored.version
            self._records[env_id] = stored
            if observed.changed:
                metrics.STATUS_TRANSITIONS.labels(
                    stored.status, stored.failure_kind or "none"
                ).inc()
                if first_seen is not None:
                    metrics.EVENT_TO_WRITE_SECONDS.observe(self._clock() - first_seen)
            self._schedule(env_id, observed.next_evaluation_in)
            return
        logger.warning("watcher: environment %s kept changing under evaluation", env_id)
        self.mark_dirty(env_id)

    async def _record(self, env_id: int) -> EnvironmentRecord | None:
        """The environment's record: cached unless another writer changed the row since."""
        cached = self._records.get(env_id)
        if cached is not None and cached.version == self._known_versions.get(env_id):
            return cached
        record = await self._environments.get(env_id)
        if record is not None:
            self._records[env_id] = record
        return record

    async def _inventory(self, env_id: int, applied_revision: int | None) -> Inventory:
        """The environment's inventory, re-read only when a new revision was applied (the
        deployer records it before it moves ``applied_revision``)."""
        cached = self._inventories.get(env_id)
        if cached is not None and cached[0] == applied_revision:
            return cached[1]
        inventory = await self._environments.get_inventory(env_id)
        self._inventories[env_id] = (applied_revision, inventory)
        return inventory

    def _schedule(self, env_id: int, delay: float | None) -> None:
        """Evaluate again after `delay` seconds (None: no time-based re-evaluation)."""
        if delay is None:
            self._queue.cancel_delayed(env_id)
        else:
            self._queue.add_after(env_id, delay)

    def _forget(self, env_id: int) -> None:
        self._queue.cancel_delayed(env_id)
        self._known_versions.pop(env_id, None)
        self._records.pop(env_id, None)
        self._inventories.pop(env_id, None)
        self._stale_credit.pop(env_id, None)

    async def _poll_database(self) -> None:
        """Mark environments whose row changed since we last saw it (any replica's writes)."""
        versions = await self._environments.list_live_versions()
        for env_id, version in versions.items():
            if self._known_versions.get(env_id) != version:
                self._known_versions[env_id] = version
                self.mark_dirty(env_id)
        for env_id in set(self._known_versions) - set(versions):
            self._forget(env_id)

    async def _poll_loop(self) -> None:
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                await self._poll_database()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("watcher: polling the database for changes failed")

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self._resync_period)
            for env_id in list(self._known_versions):
                self.mark_dirty(env_id)
