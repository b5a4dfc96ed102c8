"""Reading one environment's live objects straight from the cluster (``?latestStatus=1``).

This is the fallback path that bypasses the watcher's cache, so it must stay cheap: one
``GET`` for the namespace, then one label-selected ``LIST`` per kind in the environment's
namespace, at most :data:`MAX_CONCURRENT_LISTS` in flight. When the namespace does not
exist no list is sent at all.

Guarantees and awkward cases:

- List items come without ``apiVersion`` / ``kind`` (the API puts them on the list only);
  they are filled in, so every returned object is self-describing.
- ConfigMaps and Secrets are reduced to ``apiVersion``, ``kind`` and ``metadata``: status
  rules only need their existence, and secret values should not linger in memory.
- Pods and ReplicaSets are *evidence* (controller-made, not part of the inventory); they
  are returned separately, and not in :attr:`EnvironmentSnapshot.objects`.
- A kind the server does not serve (e.g. no Ingress API) is skipped, not an error. Any
  other failure raises :class:`~catalyst.cluster.errors.ClusterError`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.discovery import ResourceInfo, collection_path, object_path
from catalyst.cluster.errors import ClusterNotFoundError, UnknownResourceError
from catalyst.cluster.labels import environment_selector
from catalyst.domain.model import ObjectRef

MAX_CONCURRENT_LISTS = 4

#: (apiVersion, kind) of the top-level objects read for a snapshot.
OBJECT_KINDS: tuple[tuple[str, str], ...] = (
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "Service"),
    ("networking.k8s.io/v1", "Ingress"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
)
EVIDENCE_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "Pod"),
    ("apps/v1", "ReplicaSet"),
)
METADATA_ONLY_KINDS = frozenset({"ConfigMap", "Secret"})

_NAMESPACES = ResourceInfo(plural="namespaces", namespaced=False, group="", version="v1")


@dataclass(slots=True)
class EnvironmentSnapshot:
    """What the cluster holds for one environment at one moment."""

    namespace: str
    namespace_exists: bool
    namespace_object: dict[str, Any] | None = None
    objects: dict[ObjectRef, dict[str, Any]] = field(default_factory=dict)
    pods: list[dict[str, Any]] = field(default_factory=list)
    replicasets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def namespace_terminating(self) -> bool:
        metadata = (self.namespace_object or {}).get("metadata") or {}
        return bool(metadata.get("deletionTimestamp"))


class EnvironmentReader:
    """Reads :class:`EnvironmentSnapshot` objects through a :class:`ClusterClient`."""

    def __init__(self, client: ClusterClient, *, max_concurrency: int = MAX_CONCURRENT_LISTS):
        self._client = client
        self._max_concurrency = max_concurrency

    async def read_environment(self, namespace: str, environment_id: int) -> EnvironmentSnapshot:
        try:
            namespace_object = await self._client.request(
                "GET", object_path(_NAMESPACES, None, namespace)
            )
        except ClusterNotFoundError:
            return EnvironmentSnapshot(namespace=namespace, namespace_exists=False)
        snapshot = EnvironmentSnapshot(
            namespace=namespace, namespace_exists=True, namespace_object=namespace_object
        )
        selector = environment_selector(environment_id)
        limit = asyncio.Semaphore(self._max_concurrency)

        async def list_kind(api_version: str, kind: str) -> list[dict[str, Any]]:
            async with limit:
                return await self._list(api_version, kind, namespace, selector)

        kinds = OBJECT_KINDS + EVIDENCE_KINDS
        # gather, not a TaskGroup: callers want the ClusterError itself, not an
        # ExceptionGroup, and the remaining lists are cheap enough to let finish.
        results = await asyncio.gather(
            *(list_kind(av, kind) for av, kind in kinds), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        for (_, kind), items in zip(kinds, results, strict=True):
            assert not isinstance(items, BaseException)
            if kind == "Pod":
                snapshot.pods = items
            elif kind == "ReplicaSet":
                snapshot.replicasets = items
            else:
                for item in items:
                    snapshot.objects[ObjectRef.from_object(item)] = item
        return snapshot

    async def _list(
        self, api_version: str, kind: str, namespace: str, selector: str
    ) -> list[dict[str, Any]]:
        try:
            resource = await self._client.resource_for(api_version, kind)
        except UnknownResourceError:
            return []
        body = await self._client.request(
            "GET", collection_path(resource, namespace), query={"labelSelector": selector}
        )
        return [_self_describing(item, api_version, kind) for item in body.get("items") or []]


def _self_describing(item: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    if kind in METADATA_ONLY_KINDS:
        return {"apiVersion": api_version, "kind": kind, "metadata": item.get("metadata") or {}}
    return {**item, "apiVersion": api_version, "kind": kind}


async def read_environment(
    client: ClusterClient, namespace: str, environment_id: int
) -> EnvironmentSnapshot:
    """Convenience wrapper: one read with a throwaway :class:`EnvironmentReader`."""
    return await EnvironmentReader(client).read_environment(namespace, environment_id)
