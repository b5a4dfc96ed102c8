"""Storing what the watcher's cache shows of one environment (the status feed's far end).

`WatchedStatusWriter` is what the leader plugs into `catalyst.watcher.status_sync.StatusSync`
(its `StatusWriter`): the sync decides *when* an environment is evaluated (events, timers,
staleness) and hands it here; this module decides *what* is written, through the same rules
and state machine as ``?latestStatus=1`` (`catalyst.service.status.StatusService`). It sits
in the leader package so that neither the watcher nor the service layer imports the other.

Guarantees:

- Database reads are saved wherever they can be: the record is the one this writer last read
  or wrote, re-read only when `poll` saw another writer change the row or a write was
  refused as stale; the inventory is re-read only when a new revision was applied (the
  deployer records it before it moves ``applied_revision``). An observation that changes
  nothing an environment's status depends on costs no database round trip.
- A write refused by optimistic locking is re-read and re-decided (`retry_stale`); when the
  row keeps changing the outcome says ``contended`` and nothing of the observation is lost
  (the caller evaluates it again later).
- An environment that no longer exists (deleted, or never seen) is ``gone`` and forgotten;
  one that a poll had reported live is still reported gone by the next poll (which reads the
  kinds again), even when a write found it gone first, so its kinds stop being watched.
- No row change goes unpolled: a version this writer read before `poll` saw it (its own
  write was refused as stale, another writer having just recorded an inventory) is still
  reported by the next poll as changed, with the inventories' kinds, so a kind that the
  change brought gets its informer and the environment is evaluated again with it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from catalyst.cluster import EnvironmentSnapshot
from catalyst.service.status import WATCHER_SOURCE, StatusService, observation_for
from catalyst.store.environments import EnvironmentRepository
from catalyst.store.errors import StaleRecord
from catalyst.store.optimistic import retry_stale
from catalyst.store.records import EnvironmentRecord, Inventory
from catalyst.watcher.status_sync import CONTENDED, GONE, Evaluated, PolledChanges


class _Gone(Exception):
    """The environment's row no longer exists (ends the retry loop)."""


class WatchedStatusWriter:
    """Evaluates environments from the watcher's cache and stores what changed.

    Implements `catalyst.watcher.status_sync.StatusWriter`.
    """

    def __init__(self, *, environments: EnvironmentRepository, status: StatusService) -> None:
        self._environments = environments
        self._status = status
        self._known_versions: dict[int, int] = {}
        # the record as last read or written; valid while its version is the known one
        self._records: dict[int, EnvironmentRecord] = {}
        self._inventories: dict[int, tuple[int | None, Inventory]] = {}
        self._unpolled: set[int] = set()
        """Environments whose row changed in a version `poll` never saw (a write read it
        first): reported by the next poll as changed, with the kinds read again, since
        that version may have brought an inventory with new kinds."""
        self._polled = False

    async def poll(self) -> PolledChanges:
        """Live environments whose row changed since the last poll (any replica's writes,
        or new), and known ones that are no longer live (forgotten here); when any did, the
        kinds of every live inventory (an inventory only changes with its row: the deployer
        records it before it moves ``applied_revision``)."""
        versions = await self._environments.list_live_versions()
        unpolled, self._unpolled = self._unpolled, set()
        changed: list[int] = []
        for env_id, version in versions.items():
            if self._known_versions.get(env_id) != version or env_id in unpolled:
                self._known_versions[env_id] = version
                changed.append(env_id)
        gone = [env_id for env_id in self._known_versions if env_id not in versions]
        for env_id in gone:
            self._forget(env_id)
        kinds = None
        if changed or gone or not self._polled:
            kinds = await self._environments.list_inventory_kinds()
        self._polled = True
        return PolledChanges(changed=changed, gone=gone, kinds=kinds)

    async def write(
        self,
        env_id: int,
        snapshot_of: Callable[[str, int], EnvironmentSnapshot],
        *,
        stale_for: float = 0.0,
    ) -> Evaluated:
        """Evaluate the environment from ``snapshot_of(namespace, id)`` and store the outcome
        if it changed. ``stale_for``: seconds the data was stale before (given back to the
        rules' clocks and the expiry)."""

        async def attempt() -> Evaluated:
            record = await self._record(env_id)
            if record is None:
                raise _Gone
            inventory = await self._inventory(env_id, record.applied_revision)
            snapshot = snapshot_of(record.namespace, env_id)
            try:
                observed = await self._status.apply_observation(
                    record,
                    observation_for(record, inventory, snapshot),
                    WATCHER_SOURCE,
                    stale_for=timedelta(seconds=stale_for) if stale_for else None,
                )
            except StaleRecord:
                self._records.pop(env_id, None)  # another writer got there first: read again
                raise
            stored = observed.record
            self._known_versions[env_id] = stored.version
            self._records[env_id] = stored
            return Evaluated(
                written_status=(stored.status, stored.failure_kind) if observed.changed else None,
                next_evaluation_in=observed.next_evaluation_in,
            )

        try:
            return await retry_stale(attempt)
        except _Gone:
            self._forget_cached(env_id)  # the next poll reports it gone, with the kinds
            return GONE
        except StaleRecord:
            return CONTENDED

    async def _record(self, env_id: int) -> EnvironmentRecord | None:
        """The environment's record: cached unless another writer changed the row since."""
        cached = self._records.get(env_id)
        if cached is not None and cached.version == self._known_versions.get(env_id):
            return cached
        record = await self._environments.get(env_id)
        if record is not None:
            known = self._known_versions.get(env_id)
            if known is not None and record.version != known:
                self._unpolled.add(env_id)
            self._records[env_id] = record
        return record

    async def _inventory(self, env_id: int, applied_revision: int | None) -> Inventory:
        """The environment's inventory, re-read only when a new revision was applied."""
        cached = self._inventories.get(env_id)
        if cached is not None and cached[0] == applied_revision:
            return cached[1]
        inventory = await self._environments.get_inventory(env_id)
        self._inventories[env_id] = (applied_revision, inventory)
        return inventory

    def _forget(self, env_id: int) -> None:
        self._forget_cached(env_id)
        self._known_versions.pop(env_id, None)

    def _forget_cached(self, env_id: int) -> None:
        """Drop what was read of the environment, but not the version `poll` saw: only
        `poll` may stop reporting an environment, or a deletion would go unnoticed by it
        and the deleted inventory's kinds stay watched."""
        self._unpolled.discard(env_id)
        self._records.pop(env_id, None)
        self._inventories.pop(env_id, None)
