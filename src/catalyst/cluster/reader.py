"""Reading one environment's live objects straight from the cluster (``?latestStatus=1``).

This is the fallback path that bypasses the watcher's cache, so it must stay cheap: one
``GET`` for the namespace, then one label-selected ``LIST`` per kind in the environment's
namespace, at most :data:`MAX_CONCURRENT_LISTS` in flight. When the namespace does not
exist no list is sent at all.

The kinds read are the caller's (the environment's inventory kinds: the same kinds the
watcher watches) plus the evidence kinds; without them, :data:`DEFAULT_OBJECT_KINDS`.

Guarantees and awkward cases:

- List items come without ``apiVersion`` / ``kind`` (the API puts them on the list only);
  they are filled in, so every returned object is self-describing.
- Kinds whose rules need only existence (`catalyst.domain.resource_rules.judged_by_existence`:
  ConfigMaps, Secrets, RBAC, NetworkPolicies, ...) are listed as PartialObjectMetadata
  (`catalyst.cluster.partial_metadata`) and returned as ``apiVersion``, ``kind`` and
  ``metadata``: secret values never cross the wire.
- Pods and ReplicaSets are *evidence* (controller-made, not part of the inventory); they
  are returned separately, and not in :attr:`EnvironmentSnapshot.objects`.
- Pods and ReplicaSets named in the inventory are read once, as evidence; the domain finds
  them there (a bare Pod is judged by its own rule).
- A kind the server does not serve (e.g. no Ingress API, a CRD not installed) is skipped,
  not an error: its objects read as absent. Any other failure raises
  :class:`~catalyst.cluster.errors.ClusterError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from catalyst.cluster.client import ClusterClient
from catalyst.cluster.discovery import ResourceInfo, collection_path, object_path
from catalyst.cluster.errors import ClusterNotFoundError, UnknownResourceError
from catalyst.cluster.labels import environment_selector
from catalyst.cluster.partial_metadata import LIST_ACCEPT, restore_kind
from catalyst.domain.model import ObjectRef
from catalyst.domain.resource_rules import judged_by_existence

MAX_CONCURRENT_LISTS = 4

#: (apiVersion, kind) of the top-level objects read when the caller names no kinds (the
#: bundled chart's kinds).
DEFAULT_OBJECT_KINDS: tuple[tuple[str, str], ...] = (
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


def kinds_to_read(object_kinds: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """The evidence kinds, then ``object_kinds`` without duplicates, in a stable order."""
    kinds = list(EVIDENCE_KINDS)
    for kind in sorted(set(object_kinds)):
        if kind not in kinds:
            kinds.append(kind)
    return tuple(kinds)


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
    departed: dict[ObjectRef, dict[str, Any]] = field(default_factory=dict)
    """Final states of the environment's objects that were deleted, as the watch's DELETE
    events carried them (only the watcher's cache knows them; a live read has none)."""

    @property
    def namespace_terminating(self) -> bool:
        metadata = (self.namespace_object or {}).get("metadata") or {}
        return bool(metadata.get("deletionTimestamp"))


class EnvironmentReader:
    """Reads :class:`EnvironmentSnapshot` objects through a :class:`ClusterClient`."""

    def __init__(self, client: ClusterClient, *, max_concurrency: int = MAX_CONCURRENT_LISTS):
        self._client = client
        self._max_concurrency = max_concurrency

    async def read_environment(
        self,
        namespace: str,
        environment_id: int,
        *,
        kinds: Iterable[tuple[str, str]] = DEFAULT_OBJECT_KINDS,
    ) -> EnvironmentSnapshot:
        """The environment's objects of ``kinds`` (apiVersion, kind) and its evidence."""
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

        to_read = kinds_to_read(kinds)
        # gather, not a TaskGroup: callers want the ClusterError itself, not an
        # ExceptionGroup, and the remaining lists are cheap enough to let finish.
        results = await asyncio.gather(
            *(list_kind(av, kind) for av, kind in to_read), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        for (api_version, kind), items in zip(to_read, results, strict=True):
            assert not isinstance(items, BaseException)
            if (api_version, kind) == ("v1", "Pod"):
                snapshot.pods = items
            elif (api_version, kind) == ("apps/v1", "ReplicaSet"):
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
        metadata_only = judged_by_existence(api_version, kind)
        body = await self._client.request(
            "GET",
            collection_path(resource, namespace),
            query={"labelSelector": selector},
            accept=LIST_ACCEPT if metadata_only else None,
        )
        items = body.get("items") or []
        if metadata_only:
            return [restore_kind(item, api_version, kind) for item in items]
        return [{**item, "apiVersion": api_version, "kind": kind} for item in items]


async def read_environment(
    client: ClusterClient,
    namespace: str,
    environment_id: int,
    *,
    kinds: Iterable[tuple[str, str]] = DEFAULT_OBJECT_KINDS,
) -> EnvironmentSnapshot:
    """Convenience wrapper: one read with a throwaway :class:`EnvironmentReader`."""
    return await EnvironmentReader(client).read_environment(namespace, environment_id, kinds=kinds)
