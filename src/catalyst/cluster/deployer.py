"""``Deployer``: puts one environment's rendered objects on the cluster and takes them away.

- :meth:`Deployer.apply_environment` makes sure the environment's namespace exists (labelled
  with the environment id), stamps Catalyst's labels (:mod:`catalyst.cluster.labels`),
  forces every namespaced object into that namespace (a chart cannot write elsewhere) and
  server-side-applies the objects one by one in :mod:`catalyst.cluster.ordering` order with
  field manager ``catalyst`` and ``force=true`` (Catalyst owns these objects; a field some
  other manager took, e.g. ``kubectl edit``, is taken back rather than failing the deploy).
  It returns the inventory: the :class:`~catalyst.domain.ObjectRef` of every
  applied object, in apply order. Re-applying the same render changes nothing.
- Any rejection raises :class:`DeployError` naming the object and quoting the server's
  message. Objects applied before the failure stay (the next apply or the namespace
  deletion takes care of them). A namespace that is being deleted is refused up front.
- :meth:`Deployer.prune` deletes what ``previous`` had and ``keep`` no longer has, with
  background propagation. Objects are compared by group, kind, namespace and name, *not*
  apiVersion, so moving a kind to a newer version of its group never deletes it. An object
  that is already gone, or whose kind the server no longer serves, counts as deleted.
- :meth:`Deployer.delete_environment` deletes the namespace and waits until the server no
  longer has it (polling with exponential backoff, 50 ms to 1 s), bounded by ``timeout``.
  Calling it for a namespace that is already gone, or twice, is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from catalyst.cluster.client import APPLY_PATCH, ClusterClient
from catalyst.cluster.discovery import ResourceInfo, object_path
from catalyst.cluster.errors import ClusterError, UnknownResourceError
from catalyst.cluster.labels import CHART as CHART_LABEL
from catalyst.cluster.labels import stamp_labels, template_labels
from catalyst.cluster.ordering import in_apply_order
from catalyst.domain.model import ObjectRef

logger = logging.getLogger(__name__)

FIELD_MANAGER = "catalyst"

_NAMESPACES = ResourceInfo(plural="namespaces", namespaced=False, group="", version="v1")


@dataclass(frozen=True, slots=True)
class DeployTarget:
    """Where and as what one render of an environment is applied."""

    environment_id: int
    chart: str
    revision: int
    namespace: str


class DeployError(Exception):
    """The cluster refused (part of) a deploy, prune or delete; the message says which object."""

    def __init__(
        self, message: str, *, ref: ObjectRef | None = None, cause: ClusterError | None = None
    ) -> None:
        super().__init__(message)
        self.ref = ref
        self.cause = cause


class NamespaceDeletionTimeout(DeployError):
    """The namespace still existed when the deletion timeout ran out."""


class Deployer:
    """Applies, prunes and deletes environments through a :class:`ClusterClient`."""

    def __init__(
        self,
        client: ClusterClient,
        *,
        field_manager: str = FIELD_MANAGER,
        poll_initial: float = 0.05,
        poll_max: float = 1.0,
    ) -> None:
        self._client = client
        self._field_manager = field_manager
        self._poll_initial = poll_initial
        self._poll_max = poll_max

    # -- apply --------------------------------------------------------------------------

    async def apply_environment(
        self, target: DeployTarget, objects: list[dict[str, Any]]
    ) -> list[ObjectRef]:
        """Apply one render into ``target.namespace``; returns the inventory in apply order."""
        prepared = [await self._prepare(target, obj, index) for index, obj in enumerate(objects)]
        _refuse_duplicates(prepared)
        await self._ensure_namespace(target)
        inventory: list[ObjectRef] = []
        for resource, obj in _paired_in_apply_order(prepared):
            inventory.append(await self._apply(resource, obj))
        return inventory

    async def _prepare(
        self, target: DeployTarget, obj: dict[str, Any], index: int
    ) -> tuple[ResourceInfo, dict[str, Any]]:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        name = (obj.get("metadata") or {}).get("name")
        if not api_version or not kind or not name:
            raise DeployError(
                f"object #{index + 1} of the render lacks apiVersion, kind or metadata.name"
            )
        try:
            resource = await self._client.resource_for(str(api_version), str(kind))
        except UnknownResourceError as exc:
            raise DeployError(
                f"{kind} {name!r}: the cluster does not serve {kind} in {api_version}",
                ref=ObjectRef(str(api_version), str(kind), "", str(name)),
                cause=exc,
            ) from exc
        except ClusterError as exc:
            raise DeployError(
                f"{kind} {name!r}: discovery of {api_version} failed: {exc.message}", cause=exc
            ) from exc
        stamped = stamp_labels(
            obj,
            environment_id=target.environment_id,
            chart=target.chart,
            revision=target.revision,
        )
        metadata = stamped["metadata"]
        if resource.namespaced:
            metadata["namespace"] = target.namespace
        else:
            metadata.pop("namespace", None)
        # Server-owned bookkeeping in a render (e.g. copied from `kubectl get -o yaml`)
        # would make the apply conditional or be rejected; the desired state never has it.
        for field in ("resourceVersion", "uid", "creationTimestamp", "managedFields"):
            metadata.pop(field, None)
        stamped.pop("status", None)
        return resource, stamped

    async def _ensure_namespace(self, target: DeployTarget) -> None:
        labels = {**template_labels(target.environment_id), CHART_LABEL: target.chart}
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": target.namespace, "labels": labels},
        }
        ref = ObjectRef("v1", "Namespace", "", target.namespace)
        live = await self._apply_body(_NAMESPACES, ref, body)
        if (live.get("metadata") or {}).get("deletionTimestamp"):
            raise DeployError(
                f"namespace {target.namespace} is being deleted; nothing can be created in it",
                ref=ref,
            )

    async def _apply(self, resource: ResourceInfo, obj: dict[str, Any]) -> ObjectRef:
        ref = ObjectRef.from_object(obj)
        await self._apply_body(resource, ref, obj)
        return ref

    async def _apply_body(
        self, resource: ResourceInfo, ref: ObjectRef, body: dict[str, Any]
    ) -> dict[str, Any]:
        path = object_path(resource, ref.namespace or None, ref.name)
        try:
            return await self._client.request(
                "PATCH",
                path,
                query={"fieldManager": self._field_manager, "force": True},
                body=body,
                content_type=APPLY_PATCH,
            )
        except ClusterError as exc:
            raise DeployError(
                f"{ref.describe()} was rejected: {exc.message}", ref=ref, cause=exc
            ) from exc

    # -- prune --------------------------------------------------------------------------

    async def prune(
        self, namespace: str, keep: Iterable[ObjectRef], previous: Iterable[ObjectRef]
    ) -> list[ObjectRef]:
        """Delete what ``previous`` had and ``keep`` does not; returns what was deleted.

        ``namespace`` fills in refs recorded without one for a namespaced kind.
        """
        kept = {ref.identity() for ref in keep}
        dropped = [ref for ref in previous if ref.identity() not in kept]
        deleted: list[ObjectRef] = []
        for ref in reversed(dropped):  # reverse apply order: dependants before dependencies
            if await self._delete_object(namespace, ref):
                deleted.append(ref)
        return deleted

    async def _delete_object(self, namespace: str, ref: ObjectRef) -> bool:
        try:
            resource = await self._client.resource_for(ref.api_version, ref.kind)
        except UnknownResourceError:
            logger.info("prune: %s is no longer served; treating it as gone", ref)
            return False
        except ClusterError as exc:
            raise DeployError(
                f"cannot prune {ref.describe()}: {exc.message}", ref=ref, cause=exc
            ) from exc
        path = object_path(resource, ref.namespace or namespace, ref.name)
        try:
            await self._client.request("DELETE", path, query={"propagationPolicy": "Background"})
        except ClusterError as exc:
            if exc.status == 404:
                return False
            raise DeployError(
                f"cannot prune {ref.describe()}: {exc.message}", ref=ref, cause=exc
            ) from exc
        return True

    # -- delete -------------------------------------------------------------------------

    # `timeout` is part of the agreed interface; it bounds only the wait for disappearance.
    async def delete_environment(self, namespace: str, *, timeout: float) -> None:  # noqa: ASYNC109
        """Delete the namespace and wait until it is gone (at most ``timeout`` seconds)."""
        path = object_path(_NAMESPACES, None, namespace)
        ref = ObjectRef("v1", "Namespace", "", namespace)
        try:
            await self._client.request("DELETE", path, query={"propagationPolicy": "Background"})
        except ClusterError as exc:
            if exc.status == 404:
                return
            raise DeployError(
                f"cannot delete namespace {namespace}: {exc.message}", ref=ref, cause=exc
            ) from exc
        last_seen: dict[str, Any] = {}
        try:
            async with asyncio.timeout(timeout):
                delay = self._poll_initial
                while True:
                    try:
                        last_seen = await self._client.request("GET", path)
                    except ClusterError as exc:
                        if exc.status == 404:
                            return
                        raise
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._poll_max)
        except TimeoutError:
            raise NamespaceDeletionTimeout(
                f"namespace {namespace} still exists after {timeout:g}s"
                f"{_remaining_content(last_seen)}",
                ref=ref,
            ) from None


def _paired_in_apply_order(
    prepared: list[tuple[ResourceInfo, dict[str, Any]]],
) -> list[tuple[ResourceInfo, dict[str, Any]]]:
    """The prepared (resource, object) pairs in apply order."""
    order = in_apply_order([obj for _, obj in prepared])
    by_id = {id(obj): resource for resource, obj in prepared}
    return [(by_id[id(obj)], obj) for obj in order]


def _refuse_duplicates(prepared: list[tuple[ResourceInfo, dict[str, Any]]]) -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for _, obj in prepared:
        ref = ObjectRef.from_object(obj)
        if ref.identity() in seen:
            raise DeployError(f"the render contains {ref.describe()} twice", ref=ref)
        seen.add(ref.identity())


def _remaining_content(namespace: dict[str, Any]) -> str:
    """What the namespace controller says is left, for the timeout message."""
    conditions = (namespace.get("status") or {}).get("conditions") or []
    messages = [
        str(c.get("message"))
        for c in conditions
        if isinstance(c, dict) and c.get("status") == "True" and c.get("message")
    ]
    return f" ({'; '.join(messages)})" if messages else ""
