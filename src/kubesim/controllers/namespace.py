"""Namespace controller: empties a terminating namespace, then finalizes it (B19).

Guarantees:

* A namespace with ``deletionTimestamp`` gets ``status.phase: Terminating`` and the five
  deletion conditions kube-controller-manager reports (``NamespaceDeletionDiscoveryFailure``,
  ``NamespaceDeletionGroupVersionParsingFailure``, ``NamespaceDeletionContentFailure``,
  ``NamespaceContentRemaining``, ``NamespaceFinalizersRemaining``), with the real reasons and
  message shapes.
* Every namespaced object in it is deleted (background propagation), custom resources
  included: the kinds are those the store's registry serves at that moment. Objects with
  finalizers only gain ``deletionTimestamp``; the namespace waits for them, re-checking
  whenever something in it changes.
* Once the namespace is empty, ``kubernetes`` is removed from ``spec.finalizers`` through the
  ``finalize`` subresource and the store drops the namespace (DELETED event) unless other
  finalizers remain.

Objects or the namespace disappearing mid-way (404/409) are skipped, never errors.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubesim.controllers.base import QueuedController, unless_vanished
from kubesim.resources import NAMESPACE_TYPE, ResourceType
from kubesim.store import Event, Store
from kubesim.timestamps import now_rfc3339

KUBERNETES_FINALIZER = "kubernetes"


class NamespaceController(QueuedController[str]):
    """Deletes the content of terminating namespaces and finalizes them."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, "namespace-controller")

    def seed(self) -> None:
        for ns in self.store.list(NAMESPACE_TYPE):
            if ns["metadata"].get("deletionTimestamp"):
                self.enqueue(ns["metadata"]["name"])

    def on_event(self, event: Event) -> None:
        meta = event.obj.get("metadata") or {}
        if event.resource is NAMESPACE_TYPE:
            if event.type != "DELETED" and meta.get("deletionTimestamp"):
                self.enqueue(str(meta.get("name")))
            return
        namespace = meta.get("namespace")
        if event.resource.namespaced and namespace and self.store.namespace_terminating(namespace):
            self.enqueue(namespace)

    def process(self, name: str) -> None:
        ns = self.store.get(NAMESPACE_TYPE, None, name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        self._delete_content(name)
        remaining, finalizers = self._remaining_content(name)
        self._set_conditions(name, remaining, finalizers)
        if not remaining:
            self._finalize(name)

    def _delete_content(self, namespace: str) -> None:
        for rt in deletion_order(self.store.registry.storages()):
            for obj in self.store.list(rt, namespace):
                meta = obj["metadata"]
                if meta.get("deletionTimestamp"):
                    continue
                with unless_vanished("namespace controller: delete"):
                    self.store.delete(
                        rt,
                        namespace,
                        meta["name"],
                        propagation="Background",
                        preconditions={"uid": meta.get("uid")},
                    )

    def _remaining_content(self, namespace: str) -> tuple[dict[str, int], dict[str, int]]:
        remaining: dict[str, int] = {}
        finalizers: dict[str, int] = {}
        for rt in self.store.registry.storages():
            if not rt.namespaced:
                continue
            objs = self.store.list(rt, namespace)
            if objs:
                remaining[rt.group_resource] = len(objs)
            for obj in objs:
                for finalizer in obj["metadata"].get("finalizers") or []:
                    finalizers[finalizer] = finalizers.get(finalizer, 0) + 1
        return remaining, finalizers

    def _set_conditions(
        self, name: str, remaining: dict[str, int], finalizers: dict[str, int]
    ) -> None:
        now = now_rfc3339()
        content = _count_condition(
            "NamespaceContentRemaining",
            remaining,
            reason="SomeResourcesRemain",
            message="Some resources are remaining: ",
            item="{} has {} resource instances",
            cleared=("ContentRemoved", "All content successfully removed"),
        )
        finalizing = _count_condition(
            "NamespaceFinalizersRemaining",
            finalizers,
            reason="SomeFinalizersRemain",
            message="Some content in the namespace has finalizers remaining: ",
            item="{} in {} resource instances",
            cleared=("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
        )
        wanted = [
            _condition(
                "NamespaceDeletionDiscoveryFailure",
                "False",
                "ResourcesDiscovered",
                "All resources successfully discovered",
            ),
            _condition(
                "NamespaceDeletionGroupVersionParsingFailure",
                "False",
                "ParsedGroupVersions",
                "All legacy kube types successfully parsed",
            ),
            _condition(
                "NamespaceDeletionContentFailure",
                "False",
                "ContentDeleted",
                "All content successfully deleted, may be waiting on finalization",
            ),
            content,
            finalizing,
        ]

        def edit(obj: dict[str, Any]) -> None:
            status = obj.setdefault("status", {})
            status["phase"] = "Terminating"
            old = {c.get("type"): c for c in status.get("conditions") or []}
            conditions = []
            for cond in wanted:
                previous = old.get(cond["type"])
                same = previous is not None and all(
                    previous.get(k) == cond[k] for k in ("status", "reason", "message")
                )
                if same and previous is not None:
                    conditions.append(previous)
                else:
                    conditions.append({**cond, "lastTransitionTime": now})
            status["conditions"] = conditions

        self._mutate(name, edit, "status")

    def _finalize(self, name: str) -> None:
        def edit(obj: dict[str, Any]) -> None:
            spec = obj.setdefault("spec", {})
            spec["finalizers"] = [
                f for f in spec.get("finalizers") or [] if f != KUBERNETES_FINALIZER
            ]

        self._mutate(name, edit, "finalize")

    def _mutate(self, name: str, edit: Any, subresource: str) -> None:
        with unless_vanished("namespace controller: update"):
            self.store.mutate(NAMESPACE_TYPE, None, name, edit, subresource=subresource)


# Workload controllers go before the objects they manage, so the simulator does not keep
# replacing deleted pods (its recreations would only meet 403s). The real controller deletes
# in discovery order; any order converges to the same end state.
_CONTROLLER_KINDS = ("CronJob", "Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet")


def deletion_order(types: Iterable[ResourceType]) -> list[ResourceType]:
    """The namespaced ``types``, workload controllers first."""
    return sorted(
        (rt for rt in types if rt.namespaced),
        key=lambda rt: (
            _CONTROLLER_KINDS.index(rt.kind)
            if rt.kind in _CONTROLLER_KINDS and not rt.custom
            else 99
        ),
    )


def _condition(kind: str, status: str, reason: str, message: str) -> dict[str, str]:
    return {"type": kind, "status": status, "reason": reason, "message": message}


def _count_condition(
    kind: str,
    counts: dict[str, int],
    *,
    reason: str,
    message: str,
    item: str,
    cleared: tuple[str, str],
) -> dict[str, str]:
    """``True`` listing ``counts`` (sorted, each as ``item.format(name, count)``) after
    ``message``, or ``False`` with the ``cleared`` reason and message when there are none."""
    if not counts:
        return _condition(kind, "False", *cleared)
    listed = ", ".join(item.format(name, n) for name, n in sorted(counts.items()))
    return _condition(kind, "True", reason, message + listed)
