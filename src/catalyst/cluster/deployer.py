"""``Deployer``: puts one environment's rendered objects on the cluster and takes them away.

Nothing leaves the environment's namespace. That is the first guarantee, and every
operation below keeps it:

- Namespaced objects are forced into the environment's namespace (a chart cannot write
  elsewhere). Whether a kind is namespaced is what the cluster's discovery says.
- Cluster-scoped objects are refused unless the operator allowed their kind
  (:class:`~catalyst.cluster.scope.AllowedClusterKinds`, ``CATALYST_ALLOWED_CLUSTER_KINDS``):
  :class:`ClusterScopedObjectsRefused` names every one of them before anything is applied,
  not even the namespace.
- Ownership is the environment's labels (:func:`~catalyst.cluster.labels.belongs_to`).
  Before applying, the namespace and every object of the render are read; if any of them
  exists without this environment's labels (another tenant's namespace, ``kube-system``, a
  Node, an object an administrator made in the namespace), :class:`ForeignObjectsRefused`
  names every one before anything is applied: nothing is ever adopted or overwritten.
  Server-side apply uses ``force=true`` only on objects this environment owns (a field some
  other manager took, e.g. ``kubectl edit``, is taken back); an object that did not exist
  when it was read is applied without force, so one that another party creates in between
  fails the apply on any field they set differently instead of being taken over. (A
  namesake created in that instant with identical fields would still be merged: the
  window is one round trip, and only an administrator, or another environment with the
  same allowed cluster-scoped object, can write there.)
- Prune and delete act only on objects that carry this environment's labels, in its
  namespace or of an allowed cluster-scoped kind, and delete with a uid precondition
  (:mod:`catalyst.cluster.ownership`). Anything else an inventory lists is left alone, with
  a warning.

The operations:

- :meth:`Deployer.apply_environment` makes sure the environment's namespace exists
  (labelled with the environment id), stamps Catalyst's labels
  (:mod:`catalyst.cluster.labels`) and server-side-applies the objects one by one with
  field manager ``catalyst``, as Helm installs (a create) or upgrades (a rebuild) them
  (:mod:`catalyst.cluster.hooks`): the ``pre-`` hooks of the event in hook order, then
  the rest of the render in :mod:`catalyst.cluster.ordering` order, then the ``post-``
  hooks; hooks of no event of this operation (``test`` hooks among them) are never
  applied, not even checked. It returns the inventory: the
  :class:`~catalyst.domain.ObjectRef` of every applied object that is still there, in
  apply order (cluster-scoped ones with namespace ""). Re-applying the same render
  changes nothing but re-running its hooks.
- Hooks run as Helm runs them, one at a time. Before a hook is applied, its copy from an
  earlier operation is deleted when its delete policy says ``before-hook-creation`` (the
  default), and the apply waits until that copy is gone. A hook Job is then awaited until
  its ``Complete`` or ``Failed`` condition, a hook Pod until phase ``Succeeded`` or
  ``Failed`` (other kinds are done once applied; a hook that disappears while awaited
  counts as done, as in Helm). A failed hook is deleted if its policy says
  ``hook-failed`` and raises :class:`HookFailed`: nothing after it is applied. Each hook
  gets at most ``hook_timeout`` seconds (old copy gone, applied, finished), else
  :class:`HookFailed` says it timed out. When every hook of a phase succeeded, those whose
  policy says ``hook-succeeded`` are deleted (in reverse order) and are left out of the
  inventory: the deployer saw them succeed, so no later read may judge them missing.
- Any rejection raises :class:`DeployError` naming the object and quoting the server's
  message. Objects applied before the failure stay (the next apply or the environment's
  deletion takes care of them). A namespace that is being deleted is refused up front.
- :meth:`Deployer.prune` deletes what ``previous`` had and ``keep`` no longer has, with
  background propagation. Objects are compared by group, kind, namespace and name, *not*
  apiVersion, so moving a kind to a newer version of its group never deletes it. An object
  that is already gone, or whose kind the server no longer serves, counts as deleted.
- :meth:`Deployer.delete_environment` deletes the environment's cluster-scoped objects of
  allowed kinds (found by label, so objects of an apply that failed half-way are found
  too), then its namespace, and waits until the server no longer has the namespace
  (polling with exponential backoff, 50 ms to 1 s), bounded by ``timeout``. Calling it for
  a namespace that is already gone, or twice, is harmless; a namespace of that name that is
  not this environment's is left alone.
- :meth:`Deployer.cluster_scoped_refusals` answers, without applying anything, which
  objects of a render :meth:`apply_environment` would refuse as cluster-scoped (the API
  uses it to answer 422 before storing a request).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from catalyst.cluster.client import APPLY_PATCH, ClusterClient
from catalyst.cluster.discovery import ResourceInfo, object_path
from catalyst.cluster.errors import ClusterError, ClusterNotFoundError, UnknownResourceError
from catalyst.cluster.hooks import (
    DeletePolicy,
    Hook,
    HookPhase,
    ReleaseEvent,
    ever_applied,
    plan_apply,
)
from catalyst.cluster.labels import CHART as CHART_LABEL
from catalyst.cluster.labels import belongs_to, stamp_labels, template_labels
from catalyst.cluster.ordering import apply_rank
from catalyst.cluster.ownership import (
    ObjectKeepsChanging,
    delete_if_owned,
    owned_cluster_objects,
    read_live,
)
from catalyst.cluster.scope import SETTING as ALLOWED_KINDS_SETTING
from catalyst.cluster.scope import AllowedClusterKinds
from catalyst.domain.model import ObjectRef

logger = logging.getLogger(__name__)

FIELD_MANAGER = "catalyst"
DEFAULT_HOOK_TIMEOUT = 300.0

_T = TypeVar("_T")

_NAMESPACES = ResourceInfo(
    plural="namespaces", namespaced=False, group="", version="v1", kind="Namespace"
)


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


class HookFailed(DeployError):
    """A hook failed or did not finish within the hook timeout; what followed it in the
    operation was not applied. The environment's fault: never retried."""


class NamespaceDeletionTimeout(DeployError):
    """The namespace still existed when the deletion timeout ran out."""


class ClusterScopedObjectsRefused(DeployError):
    """The render has cluster-scoped objects of kinds the operator did not allow (``refs``,
    in render order); nothing was applied. The environment's fault: never retried."""

    def __init__(self, refs: list[ObjectRef], allowed: AllowedClusterKinds) -> None:
        super().__init__(
            "refused: environments may only create objects in their own namespace, and the "
            f"render has cluster-scoped objects: {_listed(refs)} (cluster-scoped kinds "
            f"allowed by {ALLOWED_KINDS_SETTING}: {allowed}); nothing was applied",
            ref=refs[0],
        )
        self.refs = tuple(refs)


class ForeignObjectsRefused(DeployError):
    """Objects of the render already exist without this environment's labels (``refs``);
    nothing was applied, and they are never adopted. The environment's fault: never retried."""

    def __init__(self, refs: list[ObjectRef], environment_id: int) -> None:
        super().__init__(
            f"refused: these objects already exist and do not belong to environment "
            f"{environment_id}, so they are neither adopted nor changed: {_listed(refs)}; "
            "nothing was applied",
            ref=refs[0],
        )
        self.refs = tuple(refs)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One object of the render, stamped and placed, with the resource that serves it."""

    resource: ResourceInfo
    obj: dict[str, Any]
    ref: ObjectRef


class Deployer:
    """Applies, prunes and deletes environments through a :class:`ClusterClient`."""

    def __init__(
        self,
        client: ClusterClient,
        *,
        allowed_cluster_kinds: AllowedClusterKinds | None = None,
        field_manager: str = FIELD_MANAGER,
        hook_timeout: float = DEFAULT_HOOK_TIMEOUT,
        poll_initial: float = 0.05,
        poll_max: float = 1.0,
    ) -> None:
        self._client = client
        self._hook_timeout = hook_timeout
        self._allowed = allowed_cluster_kinds or AllowedClusterKinds()
        self._field_manager = field_manager
        self._poll_initial = poll_initial
        self._poll_max = poll_max

    # -- apply --------------------------------------------------------------------------

    async def apply_environment(
        self,
        target: DeployTarget,
        objects: list[dict[str, Any]],
        *,
        event: ReleaseEvent = ReleaseEvent.INSTALL,
    ) -> list[ObjectRef]:
        """Apply one render into ``target.namespace`` as Helm's `event` would, hooks
        included; returns the inventory in apply order.

        Raises `ClusterScopedObjectsRefused` or `ForeignObjectsRefused` before applying
        anything, `HookFailed` when a hook fails or times out, `DeployError` when the
        cluster refuses an object (see module docstring)."""
        plan = plan_apply(objects, event)
        ordered = [
            *(hook.obj for hook in plan.pre_hooks),
            *plan.resources,
            *(hook.obj for hook in plan.post_hooks),
        ]
        prepared = [await self._prepare(target, obj, index) for index, obj in enumerate(ordered)]
        _refuse_duplicates(prepared)
        refused = [item.ref for item in prepared if not self._may_apply(item.resource)]
        if refused:
            raise ClusterScopedObjectsRefused(refused, self._allowed)
        namespace, existing = await self._read_existing(target, prepared)
        await self._ensure_namespace(target, namespace)
        of = dict(zip((id(obj) for obj in ordered), prepared, strict=True))
        inventory = await self._run_hooks(
            target,
            HookPhase.PRE,
            event,
            [(hook, of[id(hook.obj)]) for hook in plan.pre_hooks],
            existing,
        )
        for obj in plan.resources:
            item = of[id(obj)]
            owned = existing.get(item.ref.identity()) is not None
            await self._apply_body(item.resource, item.ref, item.obj, force=owned)
            inventory.append(item.ref)
        inventory += await self._run_hooks(
            target,
            HookPhase.POST,
            event,
            [(hook, of[id(hook.obj)]) for hook in plan.post_hooks],
            existing,
        )
        return inventory

    # -- hooks --------------------------------------------------------------------------

    async def _run_hooks(
        self,
        target: DeployTarget,
        phase: HookPhase,
        event: ReleaseEvent,
        hooks: list[tuple[Hook, _Prepared]],
        existing: dict[tuple[str, str, str, str], dict[str, Any]],
    ) -> list[ObjectRef]:
        """Run one phase's hooks in order; returns the refs of those that stay."""
        for hook, item in hooks:
            what = f"{hook.event_name(phase, event)} hook {item.ref.describe()}"
            try:
                async with asyncio.timeout(self._hook_timeout):
                    await self._run_hook(target, hook, item, existing, what)
            except TimeoutError:
                raise HookFailed(
                    f"{what} did not finish within {self._hook_timeout:g}s", ref=item.ref
                ) from None
        for hook, item in reversed(hooks):
            if DeletePolicy.HOOK_SUCCEEDED in hook.delete_policies:
                await self._delete_owned(
                    self._path(item), item.ref, target.environment_id, what="delete"
                )
        return [
            item.ref
            for hook, item in hooks
            if DeletePolicy.HOOK_SUCCEEDED not in hook.delete_policies
        ]

    async def _run_hook(
        self,
        target: DeployTarget,
        hook: Hook,
        item: _Prepared,
        existing: dict[tuple[str, str, str, str], dict[str, Any]],
        what: str,
    ) -> None:
        path = self._path(item)
        owned = existing.get(item.ref.identity()) is not None
        if owned and DeletePolicy.BEFORE_HOOK_CREATION in hook.delete_policies:
            if await self._delete_owned(path, item.ref, target.environment_id, what="delete"):
                await self._poll(item.ref, path, lambda live: True if live is None else None)
            owned = False
        applied = await self._apply_body(item.resource, item.ref, item.obj, force=owned)
        uid = (applied.get("metadata") or {}).get("uid")
        failure = await self._poll(item.ref, path, lambda live: _hook_outcome(live, uid))
        if failure:
            if DeletePolicy.HOOK_FAILED in hook.delete_policies:
                await self._delete_owned(path, item.ref, target.environment_id, what="delete")
            raise HookFailed(f"{what} failed: {failure}", ref=item.ref)

    async def _poll(
        self, ref: ObjectRef, path: str, outcome: Callable[[dict[str, Any] | None], _T | None]
    ) -> _T:
        """Read `path` until `outcome` of the live object (None when absent) is not None,
        backing off from ``poll_initial`` to ``poll_max``; the caller bounds the time."""
        delay = self._poll_initial
        while True:
            result = outcome(await self._read(ref, path))
            if result is not None:
                return result
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._poll_max)

    @staticmethod
    def _path(item: _Prepared) -> str:
        return object_path(item.resource, item.ref.namespace or None, item.ref.name)

    async def cluster_scoped_refusals(self, objects: list[dict[str, Any]]) -> list[ObjectRef]:
        """The objects of a render that `apply_environment` would refuse as cluster-scoped,
        by discovery, applying nothing. Objects it cannot judge (malformed, or of a kind the
        cluster does not serve) are not listed: the apply reports those itself. Raises
        `ClusterError` when discovery fails."""
        refused: list[ObjectRef] = []
        for obj in ever_applied(objects):
            try:
                ref = ObjectRef.from_object(obj)
                resource = await self._client.resource_for(ref.api_version, ref.kind)
            except (ValueError, AttributeError, UnknownResourceError):
                continue
            if not self._may_apply(resource):
                refused.append(ObjectRef(ref.api_version, ref.kind, "", ref.name))
        return refused

    def _may_apply(self, resource: ResourceInfo) -> bool:
        return resource.namespaced or self._allowed.allows(resource.group, resource.kind)

    async def _prepare(self, target: DeployTarget, obj: dict[str, Any], index: int) -> _Prepared:
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
        return _Prepared(resource, stamped, ObjectRef.from_object(stamped))

    async def _read_existing(
        self, target: DeployTarget, prepared: list[_Prepared]
    ) -> tuple[dict[str, Any] | None, dict[tuple[str, str, str, str], dict[str, Any]]]:
        """The live namespace and the live objects of the render that exist; raises
        `ForeignObjectsRefused` when any of them is not this environment's."""
        namespace_ref = ObjectRef("v1", "Namespace", "", target.namespace)
        namespace = await self._read(
            namespace_ref, object_path(_NAMESPACES, None, target.namespace)
        )
        existing: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        for item in prepared:
            if item.resource.namespaced and namespace is None:
                continue  # nothing can exist in a namespace that does not
            path = object_path(item.resource, item.ref.namespace or None, item.ref.name)
            live = await self._read(item.ref, path)
            if live is not None:
                existing[item.ref.identity()] = live
        foreign = (
            []
            if namespace is None or belongs_to(namespace, target.environment_id)
            else [namespace_ref]
        )
        foreign += [
            item.ref
            for item in prepared
            if item.ref.identity() in existing
            and not belongs_to(existing[item.ref.identity()], target.environment_id)
        ]
        if foreign:
            raise ForeignObjectsRefused(foreign, target.environment_id)
        return namespace, existing

    async def _read(self, ref: ObjectRef, path: str) -> dict[str, Any] | None:
        try:
            return await read_live(self._client, path)
        except ClusterError as exc:
            raise DeployError(
                f"cannot read {ref.describe()}: {exc.message}", ref=ref, cause=exc
            ) from exc

    async def _ensure_namespace(self, target: DeployTarget, live: dict[str, Any] | None) -> None:
        ref = ObjectRef("v1", "Namespace", "", target.namespace)
        if live is not None and (live.get("metadata") or {}).get("deletionTimestamp"):
            raise _being_deleted(ref)
        labels = {**template_labels(target.environment_id), CHART_LABEL: target.chart}
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": target.namespace, "labels": labels},
        }
        applied = await self._apply_body(_NAMESPACES, ref, body, force=live is not None)
        if (applied.get("metadata") or {}).get("deletionTimestamp"):
            raise _being_deleted(ref)

    async def _apply_body(
        self, resource: ResourceInfo, ref: ObjectRef, body: dict[str, Any], *, force: bool
    ) -> dict[str, Any]:
        path = object_path(resource, ref.namespace or None, ref.name)
        try:
            return await self._client.request(
                "PATCH",
                path,
                query={"fieldManager": self._field_manager, "force": force},
                body=body,
                content_type=APPLY_PATCH,
            )
        except ClusterError as exc:
            raise DeployError(
                f"{ref.describe()} was rejected: {exc.message}", ref=ref, cause=exc
            ) from exc

    # -- prune --------------------------------------------------------------------------

    async def prune(
        self,
        namespace: str,
        keep: Iterable[ObjectRef],
        previous: Iterable[ObjectRef],
        *,
        environment_id: int,
    ) -> list[ObjectRef]:
        """Delete what ``previous`` had and ``keep`` does not; returns what was deleted.

        Only objects of ``environment_id`` are deleted: in ``namespace`` (which also fills
        in refs recorded without one for a namespaced kind) or cluster-scoped of an allowed
        kind, and carrying the environment's labels. Others are left alone."""
        kept = {ref.identity() for ref in keep}
        dropped = [ref for ref in previous if ref.identity() not in kept]
        deleted: list[ObjectRef] = []
        for ref in reversed(dropped):  # reverse apply order: dependants before dependencies
            if await self._prune_object(namespace, ref, environment_id):
                deleted.append(ref)
        return deleted

    async def _prune_object(self, namespace: str, ref: ObjectRef, environment_id: int) -> bool:
        try:
            resource = await self._client.resource_for(ref.api_version, ref.kind)
        except UnknownResourceError:
            logger.info("prune: %s is no longer served; treating it as gone", ref)
            return False
        except ClusterError as exc:
            raise DeployError(
                f"cannot prune {ref.describe()}: {exc.message}", ref=ref, cause=exc
            ) from exc
        if resource.namespaced and (ref.namespace or namespace) != namespace:
            logger.warning("prune: left %s alone: not in %s", ref.describe(), namespace)
            return False
        if not self._may_apply(resource):
            logger.warning("prune: left %s alone: cluster-scoped", ref.describe())
            return False
        if (resource.group, resource.kind, ref.name) == ("", "Namespace", namespace):
            return False  # a render that listed the environment's own namespace dropped it

        path = object_path(resource, ref.namespace or namespace, ref.name)
        return await self._delete_owned(path, ref, environment_id, what="prune")

    async def _delete_owned(
        self, path: str, ref: ObjectRef, environment_id: int, *, what: str
    ) -> bool:
        try:
            return await delete_if_owned(self._client, path, ref, environment_id)
        except ClusterError as exc:
            raise DeployError(
                f"cannot {what} {ref.describe()}: {exc.message}", ref=ref, cause=exc
            ) from exc
        except ObjectKeepsChanging as exc:
            raise DeployError(f"cannot {what} {ref.describe()}: {exc}", ref=ref) from exc

    # -- delete -------------------------------------------------------------------------

    # `timeout` is part of the agreed interface; it bounds only the wait for disappearance.
    async def delete_environment(
        self,
        namespace: str,
        *,
        environment_id: int,
        timeout: float,  # noqa: ASYNC109
    ) -> None:
        """Delete the environment's allowed cluster-scoped objects and its namespace, and
        wait until the namespace is gone (at most ``timeout`` seconds)."""
        await self._delete_cluster_scoped(environment_id)
        path = object_path(_NAMESPACES, None, namespace)
        ref = ObjectRef("v1", "Namespace", "", namespace)
        if not await self._delete_owned(path, ref, environment_id, what="delete"):
            return  # gone already, or not this environment's: nothing of it can be inside
        last_seen: dict[str, Any] = {}
        try:
            async with asyncio.timeout(timeout):
                delay = self._poll_initial
                while True:
                    try:
                        last_seen = await self._client.request("GET", path)
                    except ClusterNotFoundError:
                        return
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self._poll_max)
        except TimeoutError:
            raise NamespaceDeletionTimeout(
                f"namespace {namespace} still exists after {timeout:g}s"
                f"{_remaining_content(last_seen)}",
                ref=ref,
            ) from None

    async def _delete_cluster_scoped(self, environment_id: int) -> None:
        """Delete every cluster-scoped object of an allowed kind labelled with the
        environment, dependants (bindings) before what they refer to."""
        try:
            found = await owned_cluster_objects(self._client, self._allowed, environment_id)
        except ClusterError as exc:
            raise DeployError(
                f"cannot list the environment's cluster-scoped objects: {exc.message}",
                cause=exc,
            ) from exc
        found.sort(key=lambda pair: -apply_rank(pair[0].kind))
        for resource, obj in found:
            name = str((obj.get("metadata") or {}).get("name"))
            ref = ObjectRef(resource.api_version, resource.kind, "", name)
            path = object_path(resource, None, name)
            if await self._delete_owned(path, ref, environment_id, what="delete"):
                logger.info("environment %s: deleted %s", environment_id, ref.describe())


def _hook_outcome(live: dict[str, Any] | None, uid: str | None) -> str | None:
    """None while the hook applied with `uid` runs; "" once it succeeded (or is gone, or
    was replaced, as Helm counts a deleted hook); else why it failed."""
    if live is None or (uid and (live.get("metadata") or {}).get("uid") != uid):
        return ""
    kind = live.get("kind")
    status = live.get("status") or {}
    if kind == "Job":
        conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
        for condition in conditions:
            if condition.get("status") != "True":
                continue
            if condition.get("type") == "Complete":
                return ""
            if condition.get("type") == "Failed":
                detail = ": ".join(
                    str(part)
                    for part in (condition.get("reason"), condition.get("message"))
                    if part
                )
                return detail or "the Job failed"
        return None
    if kind == "Pod":
        phase = status.get("phase")
        if phase == "Succeeded":
            return ""
        if phase == "Failed":
            detail = ": ".join(
                str(part) for part in (status.get("reason"), status.get("message")) if part
            )
            return detail or "the Pod failed"
        return None
    return ""


def _refuse_duplicates(prepared: list[_Prepared]) -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for item in prepared:
        if item.ref.identity() in seen:
            raise DeployError(f"the render contains {item.ref.describe()} twice", ref=item.ref)
        seen.add(item.ref.identity())


def _listed(refs: list[ObjectRef]) -> str:
    return ", ".join(ref.describe() for ref in refs)


def _being_deleted(ref: ObjectRef) -> DeployError:
    return DeployError(
        f"namespace {ref.name} is being deleted; nothing can be created in it", ref=ref
    )


def _remaining_content(namespace: dict[str, Any]) -> str:
    """What the namespace controller says is left, for the timeout message."""
    conditions = (namespace.get("status") or {}).get("conditions") or []
    messages = [
        str(c.get("message"))
        for c in conditions
        if isinstance(c, dict) and c.get("status") == "True" and c.get("message")
    ]
    return f" ({'; '.join(messages)})" if messages else ""
