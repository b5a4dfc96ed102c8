"""The watcher's picture of the cluster: one informer per kind that environments are made of.

Which kinds: Namespaces and the evidence kinds (Pods, ReplicaSets) always, plus every
(apiVersion, kind) present in a live environment's inventory (:meth:`ClusterCache.set_kinds`,
fed by the status sync from the database). An informer starts when the first inventory
holds its kind and stops when none does any more, so a chart with NetworkPolicies, HPAs,
CronJobs or custom resources is watched like any other, and a kind nobody uses costs
nothing. Kinds are resolved through discovery; one the server does not serve (a CRD not
installed yet) gets no informer and is tried again on the next :meth:`~ClusterCache.set_kinds`.

Every informer is cluster-wide and filtered by the environment label
(``catalyst.io/environment-id``), so it only ever caches objects Catalyst deployed (and the
Pods, ReplicaSets and PVCs their controllers made from stamped templates). Each cache is
indexed by environment id, so assembling one environment's snapshot costs a few dict lookups
and never a request.

How much is cached: kinds whose rules need only existence
(`catalyst.domain.resource_rules.judged_by_existence`: ConfigMaps, Secrets, RBAC,
NetworkPolicies, CronJobs, ...) are watched as PartialObjectMetadata and cached as trimmed
metadata (`catalyst.watcher.transform.metadata_for`); every other kind is watched whole and
trimmed by :func:`~catalyst.watcher.transform.trim_for_status`. The live reader behind
``?latestStatus=1`` makes the same choice per kind, so both paths judge the same things.

Jobs: the final state of a deleted Job that had completed is kept (`SharedInformer.departed`)
until the Job is re-created or its environment forgotten, and offered in the snapshot, so a
Job removed by its TTL or a hook delete policy before any evaluation saw it complete still
counts as done.

Sync: :meth:`has_synced` is true once every informer started by :meth:`start` has listed,
and informers added later count from their first list on (:meth:`wait_for_kinds`); until
then their objects read as not created yet, which never fails an environment.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.errors import ClusterError, UnknownResourceError
from catalyst.cluster.labels import ENVIRONMENT_ID as ENVIRONMENT_LABEL
from catalyst.cluster.labels import environment_id_of
from catalyst.cluster.reader import DEFAULT_OBJECT_KINDS, EVIDENCE_KINDS, EnvironmentSnapshot
from catalyst.domain.model import ObjectRef
from catalyst.domain.resource_rules import judged_by_existence
from catalyst.domain.workload_rules import job_completed
from catalyst.watcher.backoff import Backoff
from catalyst.watcher.indexer import KubeObject, label_index
from catalyst.watcher.informer import EventHandler, SharedInformer
from catalyst.watcher.listwatch import ListWatch
from catalyst.watcher.transform import metadata_for, trim_for_status

logger = logging.getLogger(__name__)

ENVIRONMENT_INDEX = "environment"
NAMESPACE_KIND = ("v1", "Namespace")
JOB_KIND = ("batch/v1", "Job")
BASE_KINDS: tuple[tuple[str, str], ...] = (NAMESPACE_KIND, *EVIDENCE_KINDS)
"""Watched whatever the inventories hold: namespaces and the controllers' evidence."""

Kind = tuple[str, str]


@dataclass(frozen=True, slots=True)
class KindChanges:
    """What one :meth:`ClusterCache.set_kinds` did."""

    started: tuple[Kind, ...] = ()
    stopped: tuple[Kind, ...] = ()
    unserved: tuple[Kind, ...] = ()
    """Kinds asked for that discovery does not know (no informer; retried next time)."""
    unresolved: tuple[Kind, ...] = ()
    """Kinds whose discovery failed (the cluster unreachable, 5xx): the cache is not
    synced until `retry_unresolved` resolves them."""


class ClusterCache:
    """Informers for every kind an environment's status depends on."""

    def __init__(
        self,
        client: ClusterClient,
        *,
        kinds: Iterable[Kind] = DEFAULT_OBJECT_KINDS,
        max_backoff: float = 30.0,
        **informer_options: Any,
    ) -> None:
        self._client = client
        self._initial_kinds = tuple(kinds)
        self._max_backoff = max_backoff
        self._informer_options = informer_options
        self._handlers: list[EventHandler] = []
        self._started = False
        self._lock = asyncio.Lock()
        self._requested: frozenset[Kind] = frozenset()
        self._unresolved: set[Kind] = set()
        self.informers: dict[Kind, SharedInformer] = {}
        """The running (or, before `start`, built) informers by (apiVersion, kind)."""
        self._pending: set[Kind] = set()
        """Informers added after `start` that have not listed yet (not in `has_synced`)."""

    def metadata_only(self, kind: Kind) -> bool:
        """Whether ``kind`` is (or would be) watched as PartialObjectMetadata."""
        return judged_by_existence(*kind)

    async def build(self) -> None:
        """Create (not start) the informers of the base kinds and of the constructor's
        ``kinds`` (kinds the cluster does not serve are left out). The status sync replaces
        those with the inventories' kinds (`set_kinds`) before it starts the cache."""
        await self.set_kinds(self._initial_kinds)

    async def set_kinds(self, kinds: Iterable[Kind]) -> KindChanges:
        """Watch exactly the base kinds plus ``kinds``: start informers for new kinds (after
        `start`: at once, with every handler added so far) and stop those of kinds no
        longer asked for. Safe to call concurrently (one change at a time)."""
        wanted = set(BASE_KINDS) | set(kinds)
        async with self._lock:
            self._requested = frozenset(kinds)
            started: list[Kind] = []
            unserved: list[Kind] = []
            unresolved: list[Kind] = []
            for kind in sorted(wanted - set(self.informers)):
                try:
                    informer = await self._informer_for(kind)
                except UnknownResourceError:
                    unserved.append(kind)
                    continue
                except ClusterError as exc:
                    if kind not in self._unresolved:
                        logger.warning("watcher: cannot resolve %s yet (%s); retrying", kind, exc)
                    unresolved.append(kind)
                    continue
                self.informers[kind] = informer
                for handler in self._handlers:
                    informer.add_event_handler(handler)
                if self._started:
                    self._pending.add(kind)
                    await informer.start()
                started.append(kind)
            self._unresolved = set(unresolved)
            stopped = sorted(set(self.informers) - wanted)
            removed = [self.informers.pop(kind) for kind in stopped]
            self._pending.difference_update(stopped)
            await asyncio.gather(*(informer.stop() for informer in removed))
        if started or stopped or unserved:
            logger.info(
                "watcher: informers started %s, stopped %s, unserved %s (%d running)",
                started,
                stopped,
                unserved,
                len(self.informers),
            )
        return KindChanges(tuple(started), tuple(stopped), tuple(unserved), tuple(unresolved))

    async def retry_unresolved(self) -> KindChanges:
        """Resolve again the kinds whose discovery failed (nothing to do when none did)."""
        if not self._unresolved:
            return KindChanges()
        return await self.set_kinds(self._requested)

    async def _informer_for(self, kind: Kind) -> SharedInformer:
        api_version, kind_name = kind
        info = await self._client.resource_for(api_version, kind_name)
        metadata_only = self.metadata_only(kind)
        listwatch = ListWatch(
            self._client,
            api_version,
            info.plural,
            label_selector=ENVIRONMENT_LABEL,
            metadata_only=metadata_only,
        )
        return SharedInformer(
            listwatch,
            indexers={ENVIRONMENT_INDEX: label_index(ENVIRONMENT_LABEL)},
            transform=metadata_for(api_version, kind_name) if metadata_only else trim_for_status,
            keep_final_state=job_completed if kind == JOB_KIND else None,
            # Each reflector backs off on its own (a shared Backoff would couple them).
            backoff=Backoff(cap=max(self._max_backoff, 0.8)),
            **self._informer_options,
        )

    def add_event_handler(self, handler: EventHandler) -> None:
        """Add ``handler`` to every informer, and to every informer started later."""
        self._handlers.append(handler)
        for informer in self.informers.values():
            informer.add_event_handler(handler)

    async def start(self) -> None:
        async with self._lock:
            self._started = True
            for informer in self.informers.values():
                await informer.start()

    async def stop(self) -> None:
        async with self._lock:
            self._started = False
            await asyncio.gather(*(informer.stop() for informer in self.informers.values()))

    async def wait_for_sync(self, seconds: float) -> bool:
        results = await asyncio.gather(
            *(informer.wait_for_sync(seconds) for informer in list(self.informers.values()))
        )
        return all(results)

    async def wait_for_kinds(self, kinds: Iterable[Kind], seconds: float) -> bool:
        """Wait up to ``seconds`` for the informers of ``kinds`` to list; True when all did."""
        informers = [self.informers[k] for k in kinds if k in self.informers]
        results = await asyncio.gather(*(i.wait_for_sync(seconds) for i in informers))
        return all(results)

    def has_synced(self) -> bool:
        """Every informer has listed (those added after `start` aside, while they list for
        the first time) and every kind asked for is resolved."""
        synced = not self._unresolved
        for kind, informer in self.informers.items():
            if informer.has_synced():
                self._pending.discard(kind)
            elif kind not in self._pending:
                synced = False
        return synced

    def unhealthy_for(self) -> float:
        """The longest time any informer has been unable to list or watch (0 if healthy)."""
        return max((i.unhealthy_for() for i in self.informers.values()), default=0.0)

    def object_count(self) -> int:
        return sum(len(informer.indexer) for informer in self.informers.values())

    def environment_ids(self) -> set[int]:
        ids: set[int] = set()
        for informer in self.informers.values():
            for value in informer.indexer.list_index_values(ENVIRONMENT_INDEX):
                if value.isdigit():
                    ids.add(int(value))
        return ids

    def forget_environment(self, environment_id: int) -> None:
        """Drop what is kept of a gone environment beyond its live objects (final states)."""

        def belongs(obj: KubeObject) -> bool:
            return environment_id_of(obj) == environment_id

        for informer in self.informers.values():
            informer.forget_departed(belongs)

    def snapshot(self, namespace: str, environment_id: int) -> EnvironmentSnapshot:
        """The cached state of one environment, shaped like a live read (plus the final
        states of its deleted completed Jobs)."""
        key = str(environment_id)
        snapshot = EnvironmentSnapshot(namespace=namespace, namespace_exists=False)
        for (api_version, kind), informer in self.informers.items():
            for obj in informer.indexer.by_index(ENVIRONMENT_INDEX, key):
                if (api_version, kind) == NAMESPACE_KIND:
                    if (obj.get("metadata") or {}).get("name") == namespace:
                        snapshot.namespace_exists = True
                        snapshot.namespace_object = obj
                elif (api_version, kind) == ("v1", "Pod"):
                    snapshot.pods.append(obj)
                elif (api_version, kind) == ("apps/v1", "ReplicaSet"):
                    snapshot.replicasets.append(obj)
                else:
                    snapshot.objects[ObjectRef.from_object(obj)] = obj
            for obj in informer.departed.values():
                if environment_id_of(obj) == environment_id:
                    snapshot.departed[ObjectRef.from_object(obj)] = obj
        return snapshot
