"""Garbage collector and namespace controller, driven through the real Store (B18/B19)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubesim.controllers import GarbageCollector, NamespaceController
from kubesim.resources import NAMESPACE_TYPE, resource_type
from kubesim.store import Event, Store

CONFIGMAPS = resource_type("", "v1", "configmaps")
DEPLOYMENTS = resource_type("apps", "v1", "deployments")
REPLICASETS = resource_type("apps", "v1", "replicasets")
PODS = resource_type("", "v1", "pods")

NS = "team-a"


@pytest.fixture
async def store() -> Store:
    store = Store()
    store.create(NAMESPACE_TYPE, {"metadata": {"name": NS}})
    return store


@pytest.fixture
async def gc(store: Store) -> AsyncIterator[GarbageCollector]:
    gc = GarbageCollector(store)
    await gc.start()
    yield gc
    await gc.stop()


@pytest.fixture
async def nsc(store: Store) -> AsyncIterator[NamespaceController]:
    controller = NamespaceController(store)
    await controller.start()
    yield controller
    await controller.stop()


async def settle(*controllers: Any) -> None:
    """Wait (bounded) until no controller has work left."""
    for _ in range(5):
        for c in controllers:
            await asyncio.wait_for(c.wait_idle(), timeout=5)
    await asyncio.sleep(0)


def _create(
    store: Store,
    rt: Any,
    name: str,
    *,
    owners: list[dict] | None = None,
    finalizers: list[str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": NS}
    if owners:
        meta["ownerReferences"] = owners
    if finalizers:
        meta["finalizers"] = finalizers
    return store.create(rt, {"metadata": meta})


def _ref(owner: dict[str, Any], kind: str, *, block: bool = False) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": block,
    }


async def test_background_deletion_removes_dependents(store: Store, gc: GarbageCollector) -> None:
    dep = _create(store, DEPLOYMENTS, "web")
    rs = _create(store, REPLICASETS, "web-1", owners=[_ref(dep, "Deployment")])
    _create(store, PODS, "web-1-a", owners=[_ref(rs, "ReplicaSet")])
    _create(store, PODS, "unrelated")
    store.delete(DEPLOYMENTS, NS, "web")
    await settle(gc)
    assert store.get(REPLICASETS, NS, "web-1") is None
    assert store.get(PODS, NS, "web-1-a") is None
    assert store.get(PODS, NS, "unrelated") is not None


async def test_dependent_with_a_remaining_owner_survives(
    store: Store, gc: GarbageCollector
) -> None:
    a = _create(store, CONFIGMAPS, "a")
    b = _create(store, CONFIGMAPS, "b")
    child = _create(store, CONFIGMAPS, "child", owners=[_ref(a, "ConfigMap"), _ref(b, "ConfigMap")])
    store.delete(CONFIGMAPS, NS, "a")
    await settle(gc)
    survivor = store.get(CONFIGMAPS, NS, "child")
    assert survivor is not None
    assert [r["uid"] for r in survivor["metadata"]["ownerReferences"]] == [b["metadata"]["uid"]]
    assert survivor["metadata"]["uid"] == child["metadata"]["uid"]
    store.delete(CONFIGMAPS, NS, "b")
    await settle(gc)
    assert store.get(CONFIGMAPS, NS, "child") is None


async def test_foreground_deletion_waits_for_blocking_dependents(
    store: Store, gc: GarbageCollector
) -> None:
    events: list[Event] = []
    store.add_listener(events.append)
    dep = _create(store, DEPLOYMENTS, "web")
    rs = _create(store, REPLICASETS, "web-1", owners=[_ref(dep, "Deployment", block=True)])
    _create(
        store,
        PODS,
        "web-1-a",
        owners=[_ref(rs, "ReplicaSet", block=True)],
        finalizers=["example.com/hold"],
    )
    store.delete(DEPLOYMENTS, NS, "web", propagation="Foreground")
    await settle(gc)
    # The pod is held by its finalizer, so the RS (foreground) and the deployment wait.
    pod = store.get(PODS, NS, "web-1-a")
    assert pod is not None
    assert pod["metadata"].get("deletionTimestamp")
    held_rs = store.get(REPLICASETS, NS, "web-1")
    assert held_rs is not None
    assert "foregroundDeletion" in held_rs["metadata"]["finalizers"]
    owner = store.get(DEPLOYMENTS, NS, "web")
    assert owner is not None
    assert owner["metadata"]["finalizers"] == ["foregroundDeletion"]

    store.mutate(PODS, NS, "web-1-a", lambda o: o["metadata"].update(finalizers=[]))
    await settle(gc)
    assert store.get(PODS, NS, "web-1-a") is None
    assert store.get(REPLICASETS, NS, "web-1") is None
    assert store.get(DEPLOYMENTS, NS, "web") is None
    deleted = [e.obj["metadata"]["name"] for e in events if e.type == "DELETED"]
    assert deleted == ["web-1-a", "web-1", "web"]  # dependents first, owner last


async def test_foreground_non_blocking_dependent_does_not_hold_owner(
    store: Store, gc: GarbageCollector
) -> None:
    owner = _create(store, CONFIGMAPS, "owner")
    _create(store, CONFIGMAPS, "child", owners=[_ref(owner, "ConfigMap")], finalizers=["x/hold"])
    store.delete(CONFIGMAPS, NS, "owner", propagation="Foreground")
    await settle(gc)
    assert store.get(CONFIGMAPS, NS, "owner") is None
    child = store.get(CONFIGMAPS, NS, "child")
    assert child is not None
    assert child["metadata"].get("deletionTimestamp")


async def test_orphan_strips_owner_reference(store: Store, gc: GarbageCollector) -> None:
    owner = _create(store, CONFIGMAPS, "owner")
    other = _create(store, CONFIGMAPS, "other")
    _create(store, CONFIGMAPS, "child", owners=[_ref(owner, "ConfigMap"), _ref(other, "ConfigMap")])
    _create(store, CONFIGMAPS, "only-child", owners=[_ref(owner, "ConfigMap")])
    store.delete(CONFIGMAPS, NS, "owner", propagation="Orphan")
    await settle(gc)
    assert store.get(CONFIGMAPS, NS, "owner") is None
    child = store.get(CONFIGMAPS, NS, "child")
    assert child is not None
    assert [r["name"] for r in child["metadata"]["ownerReferences"]] == ["other"]
    only = store.get(CONFIGMAPS, NS, "only-child")
    assert only is not None
    assert "ownerReferences" not in only["metadata"]


async def test_dependent_of_missing_owner_is_collected(store: Store, gc: GarbageCollector) -> None:
    ghost = {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost", "uid": "no-such-uid"}
    _create(store, CONFIGMAPS, "orphaned", owners=[ghost])
    await settle(gc)
    assert store.get(CONFIGMAPS, NS, "orphaned") is None


async def test_gc_indexes_existing_objects_on_start(store: Store) -> None:
    owner = _create(store, CONFIGMAPS, "owner")
    _create(store, CONFIGMAPS, "child", owners=[_ref(owner, "ConfigMap")])
    gc = GarbageCollector(store)
    await gc.start()
    try:
        store.delete(CONFIGMAPS, NS, "owner")
        await settle(gc)
        assert store.get(CONFIGMAPS, NS, "child") is None
    finally:
        await gc.stop()


async def test_namespace_deletion_empties_and_removes_namespace(
    store: Store, gc: GarbageCollector, nsc: NamespaceController
) -> None:
    events: list[Event] = []
    store.add_listener(events.append)
    _create(store, CONFIGMAPS, "a")
    _create(store, PODS, "p")
    _create(store, CONFIGMAPS, "held", finalizers=["example.com/hold"])
    store.delete(NAMESPACE_TYPE, None, NS)
    await settle(gc, nsc)

    ns = store.get(NAMESPACE_TYPE, None, NS)
    assert ns is not None
    assert ns["status"]["phase"] == "Terminating"
    conditions = {c["type"]: c for c in ns["status"]["conditions"]}
    assert set(conditions) == {
        "NamespaceDeletionDiscoveryFailure",
        "NamespaceDeletionGroupVersionParsingFailure",
        "NamespaceDeletionContentFailure",
        "NamespaceContentRemaining",
        "NamespaceFinalizersRemaining",
    }
    assert conditions["NamespaceContentRemaining"]["status"] == "True"
    assert conditions["NamespaceContentRemaining"]["message"] == (
        "Some resources are remaining: configmaps has 1 resource instances"
    )
    assert conditions["NamespaceFinalizersRemaining"]["message"] == (
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 "
        "resource instances"
    )
    assert store.get(CONFIGMAPS, NS, "a") is None
    assert store.get(PODS, NS, "p") is None

    store.mutate(CONFIGMAPS, NS, "held", lambda o: o["metadata"].update(finalizers=[]))
    await settle(gc, nsc)
    assert store.get(NAMESPACE_TYPE, None, NS) is None
    assert events[-1].type == "DELETED"
    assert events[-1].resource is NAMESPACE_TYPE


async def test_empty_namespace_goes_at_once(store: Store, nsc: NamespaceController) -> None:
    store.create(NAMESPACE_TYPE, {"metadata": {"name": "empty"}})
    store.delete(NAMESPACE_TYPE, None, "empty")
    await settle(nsc)
    assert store.get(NAMESPACE_TYPE, None, "empty") is None


async def test_namespace_with_other_spec_finalizer_waits(
    store: Store, nsc: NamespaceController
) -> None:
    store.create(
        NAMESPACE_TYPE, {"metadata": {"name": "extra"}, "spec": {"finalizers": ["kubernetes", "x"]}}
    )
    store.delete(NAMESPACE_TYPE, None, "extra")
    await settle(nsc)
    ns = store.get(NAMESPACE_TYPE, None, "extra")
    assert ns is not None
    assert ns["spec"]["finalizers"] == ["x"]


async def test_stop_is_idempotent_and_unregisters(store: Store) -> None:
    gc = GarbageCollector(store)
    await gc.start()
    await gc.stop()
    await gc.stop()
    owner = _create(store, CONFIGMAPS, "owner")
    _create(store, CONFIGMAPS, "child", owners=[_ref(owner, "ConfigMap")])
    store.delete(CONFIGMAPS, NS, "owner")
    await asyncio.sleep(0)
    assert store.get(CONFIGMAPS, NS, "child") is not None


async def test_object_vanishing_or_replaced_under_gc(
    store: Store, gc: GarbageCollector, caplog: pytest.LogCaptureFixture
) -> None:
    owner = _create(store, CONFIGMAPS, "owner")
    _create(store, CONFIGMAPS, "child", owners=[_ref(owner, "ConfigMap")])
    _create(store, CONFIGMAPS, "gone", owners=[_ref(owner, "ConfigMap")])
    store.delete(CONFIGMAPS, NS, "owner")
    # Before the collector runs: one dependent is deleted by someone else, the other is
    # replaced by a namesake that has no owner.
    store.delete(CONFIGMAPS, NS, "gone")
    store.delete(CONFIGMAPS, NS, "child")
    replacement = _create(store, CONFIGMAPS, "child")
    await settle(gc)
    survivor = store.get(CONFIGMAPS, NS, "child")
    assert survivor is not None
    assert survivor["metadata"]["uid"] == replacement["metadata"]["uid"]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
