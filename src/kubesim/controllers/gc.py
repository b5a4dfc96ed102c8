"""Garbage collector: owner references and deletion propagation (k8s-semantics B18).

Guarantees:

* **Background**: once every owner an object references (matched by ``uid``) is gone, the
  object is deleted (itself with background propagation, or foreground when its owner is
  waiting for dependents). References to owners that are gone while others remain are
  removed from the dependent.
* **Foreground**: an owner with ``deletionTimestamp`` and the ``foregroundDeletion``
  finalizer has its dependents deleted (dependents that have dependents of their own are
  deleted in the foreground too, so the deletion cascades). The finalizer is removed, and
  the owner disappears, once no dependent with ``blockOwnerDeletion: true`` remains.
  Dependents that still have another live owner are kept and merely stop blocking.
* **Orphan**: an owner with the ``orphan`` finalizer is stripped from its dependents'
  ``ownerReferences``; then the finalizer is removed.

Owners and dependents may be of any kind the server stores, custom resources included (the
seed visits every storage of the store's registry). The collector keeps its own uid index,
fed by store events, because the store has no uid lookup.

Every store write is guarded: an object that vanished (404) or was replaced by a
namesake (uid precondition, 409) is skipped, never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubesim.controllers.base import QueuedController, unless_vanished
from kubesim.resources import ResourceType
from kubesim.store import Event, Store

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"

# Work items: ("owner", uid) re-examines a deleting owner, ("dependent", uid) re-examines
# an object's owner references.
WorkItem = tuple[str, str]


@dataclass(frozen=True, slots=True)
class _Node:
    rt: ResourceType
    namespace: str | None
    name: str
    uid: str
    owner_refs: tuple[dict[str, Any], ...]
    finalizers: tuple[str, ...]
    deleting: bool

    @property
    def owner_uids(self) -> frozenset[str]:
        return frozenset(str(r.get("uid")) for r in self.owner_refs if r.get("uid"))

    def waiting_for_dependents(self) -> bool:
        return self.deleting and FOREGROUND in self.finalizers


def _node(rt: ResourceType, obj: dict[str, Any]) -> _Node:
    meta = obj.get("metadata") or {}
    return _Node(
        rt=rt,
        namespace=meta.get("namespace") if rt.namespaced else None,
        name=str(meta.get("name")),
        uid=str(meta.get("uid")),
        owner_refs=tuple(r for r in meta.get("ownerReferences") or [] if isinstance(r, dict)),
        finalizers=tuple(meta.get("finalizers") or ()),
        deleting=bool(meta.get("deletionTimestamp")),
    )


class GarbageCollector(QueuedController[WorkItem]):
    """Owner-reference garbage collection over one :class:`Store`."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, "garbage-collector")
        self._nodes: dict[str, _Node] = {}
        self._dependents: dict[str, set[str]] = {}

    def seed(self) -> None:
        # Indexing the objects that already exist queues whatever needs attention.
        for rt in self.store.registry.storages():
            for obj in self.store.list(rt):
                self._observe(rt, obj, None)

    # ------------------------------------------------------------------ index

    def on_event(self, event: Event) -> None:
        if event.type == "DELETED":
            self._forget(event.obj)
        else:
            self._observe(event.resource, event.obj, event.old)

    def _observe(self, rt: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
        node = _node(rt, obj)
        previous = self._nodes.get(node.uid)
        self._nodes[node.uid] = node
        before = previous.owner_uids if previous else frozenset()
        for owner in before - node.owner_uids:
            self._dependents.get(owner, set()).discard(node.uid)
        for owner in node.owner_uids:
            self._dependents.setdefault(owner, set()).add(node.uid)
        if node.owner_refs and (previous is None or previous.owner_refs != node.owner_refs):
            self.enqueue(("dependent", node.uid))
        if node.deleting and (FOREGROUND in node.finalizers or ORPHAN in node.finalizers):
            self.enqueue(("owner", node.uid))
        # A dependent that changed may have stopped blocking a foreground owner.
        for owner in before | node.owner_uids:
            owner_node = self._nodes.get(owner)
            if owner_node is not None and owner_node.waiting_for_dependents():
                self.enqueue(("owner", owner))

    def _forget(self, obj: dict[str, Any]) -> None:
        uid = str((obj.get("metadata") or {}).get("uid"))
        node = self._nodes.pop(uid, None)
        if node is None:
            return
        for owner in node.owner_uids:
            deps = self._dependents.get(owner)
            if deps is not None:
                deps.discard(uid)
                if not deps and owner not in self._nodes:
                    del self._dependents[owner]
            if owner in self._nodes:
                self.enqueue(("owner", owner))
        for dependent in self._dependents.get(uid, set()):
            self.enqueue(("dependent", dependent))

    # ------------------------------------------------------------------- work

    def process(self, item: WorkItem) -> None:
        kind, uid = item
        if kind == "owner":
            self._process_owner(uid)
        else:
            self._process_dependent(uid)

    def _process_dependent(self, uid: str) -> None:
        node = self._nodes.get(uid)
        if node is None or not node.owner_refs:
            return
        dangling: set[str] = set()
        waiting: set[str] = set()
        solid: set[str] = set()
        for owner_uid in node.owner_uids:
            owner = self._nodes.get(owner_uid)
            if owner is None:
                dangling.add(owner_uid)
            elif owner.waiting_for_dependents():
                waiting.add(owner_uid)
            else:
                solid.add(owner_uid)
        if not dangling and not waiting:
            return
        if solid:
            # Keep the object: drop references to vanished owners and stop blocking the
            # owners that wait for their dependents.
            self._edit_owner_refs(node, drop=dangling, unblock=waiting)
            return
        if waiting:
            propagation = "Foreground" if self._dependents.get(uid) else "Background"
        else:
            propagation = "Background"
        if node.deleting and (propagation == "Background" or FOREGROUND in node.finalizers):
            return  # already on its way out
        self._delete(node, propagation)

    def _process_owner(self, uid: str) -> None:
        node = self._nodes.get(uid)
        if node is None or not node.deleting:
            return
        dependents = [
            self._nodes[d] for d in sorted(self._dependents.get(uid, ())) if d in self._nodes
        ]
        if ORPHAN in node.finalizers:
            for dep in dependents:
                self._edit_owner_refs(dep, drop={uid}, unblock=set())
            self._remove_finalizer(node, ORPHAN)
            return
        if FOREGROUND not in node.finalizers:
            return
        for dep in dependents:
            self._process_dependent(dep.uid)
        blocking = [
            d
            for d in (self._nodes.get(dep.uid) for dep in dependents)
            if d is not None
            and any(r.get("uid") == uid and r.get("blockOwnerDeletion") for r in d.owner_refs)
        ]
        if not blocking:
            self._remove_finalizer(node, FOREGROUND)

    # ---------------------------------------------------------------- writes

    def _delete(self, node: _Node, propagation: str) -> None:
        with unless_vanished("gc: delete"):
            self.store.delete(
                node.rt,
                node.namespace,
                node.name,
                propagation=propagation,
                preconditions={"uid": node.uid},
            )

    def _edit_owner_refs(self, node: _Node, *, drop: set[str], unblock: set[str]) -> None:
        def edit(obj: dict[str, Any]) -> None:
            meta = obj["metadata"]
            if meta.get("uid") != node.uid:
                return  # a namesake replaced the object we looked at
            refs = []
            for ref in meta.get("ownerReferences") or []:
                if ref.get("uid") in drop:
                    continue
                if ref.get("uid") in unblock and ref.get("blockOwnerDeletion"):
                    ref = {**ref, "blockOwnerDeletion": False}
                refs.append(ref)
            if refs:
                meta["ownerReferences"] = refs
            else:
                meta.pop("ownerReferences", None)

        self._mutate(node, edit)

    def _remove_finalizer(self, node: _Node, finalizer: str) -> None:
        def edit(obj: dict[str, Any]) -> None:
            meta = obj["metadata"]
            if meta.get("uid") != node.uid:
                return
            meta["finalizers"] = [f for f in meta.get("finalizers") or [] if f != finalizer]

        self._mutate(node, edit)

    def _mutate(self, node: _Node, edit: Callable[[dict[str, Any]], None]) -> None:
        with unless_vanished("gc: update"):
            self.store.mutate(node.rt, node.namespace, node.name, edit)
