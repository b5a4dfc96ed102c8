"""The watcher's picture of the cluster: one informer per kind that environments are made of.

Every informer is cluster-wide and filtered by the environment label
(``catalyst.io/environment-id``), so it only ever caches objects Catalyst deployed (and the
Pods, ReplicaSets and PVCs their controllers made from stamped templates). Each cache is
indexed by environment id, so assembling one environment's snapshot costs a few dict lookups
and never a request.

The kinds are the reader's (:data:`catalyst.cluster.reader.OBJECT_KINDS` and
``EVIDENCE_KINDS``) plus Namespaces, so a snapshot from the cache and one read live for
``?latestStatus=1`` hold the same things and go through the same rules.

Objects pass through :func:`~catalyst.watcher.transform.trim_for_status` before caching.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.labels import ENVIRONMENT_ID as ENVIRONMENT_LABEL
from catalyst.cluster.reader import EVIDENCE_KINDS, OBJECT_KINDS, EnvironmentSnapshot
from catalyst.domain.model import ObjectRef
from catalyst.watcher.backoff import Backoff
from catalyst.watcher.indexer import label_index
from catalyst.watcher.informer import EventHandler, SharedInformer
from catalyst.watcher.listwatch import ListWatch
from catalyst.watcher.transform import trim_for_status

ENVIRONMENT_INDEX = "environment"
NAMESPACE_KIND = ("v1", "Namespace")


class ClusterCache:
    """Informers for every kind an environment's status depends on."""

    def __init__(
        self,
        client: ClusterClient,
        *,
        kinds: Iterable[tuple[str, str]] = (*OBJECT_KINDS, *EVIDENCE_KINDS, NAMESPACE_KIND),
        max_backoff: float = 30.0,
        **informer_options: Any,
    ) -> None:
        self._client = client
        self._kinds = tuple(kinds)
        self._max_backoff = max_backoff
        self._informer_options = informer_options
        self.informers: dict[tuple[str, str], SharedInformer] = {}

    async def build(self) -> None:
        """Resolve each kind through discovery and create its informer (kinds the cluster
        does not serve, such as Ingress on a bare API server, are left out)."""
        for api_version, kind in self._kinds:
            if (api_version, kind) in self.informers:
                continue
            info = await self._client.resource_for(api_version, kind)
            listwatch = ListWatch(
                self._client, api_version, info.plural, label_selector=ENVIRONMENT_LABEL
            )
            self.informers[(api_version, kind)] = SharedInformer(
                listwatch,
                indexers={ENVIRONMENT_INDEX: label_index(ENVIRONMENT_LABEL)},
                transform=trim_for_status,
                # Each reflector backs off on its own (a shared Backoff would couple them).
                backoff=Backoff(cap=max(self._max_backoff, 0.8)),
                **self._informer_options,
            )

    def add_event_handler(self, handler: EventHandler) -> None:
        for informer in self.informers.values():
            informer.add_event_handler(handler)

    async def start(self) -> None:
        for informer in self.informers.values():
            await informer.start()

    async def stop(self) -> None:
        await asyncio.gather(*(informer.stop() for informer in self.informers.values()))

    async def wait_for_sync(self, seconds: float) -> bool:
        results = await asyncio.gather(
            *(informer.wait_for_sync(seconds) for informer in self.informers.values())
        )
        return all(results)

    def has_synced(self) -> bool:
        return all(informer.has_synced() for informer in self.informers.values())

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

    def snapshot(self, namespace: str, environment_id: int) -> EnvironmentSnapshot:
        """The cached state of one environment, shaped like a live read."""
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
        return snapshot
