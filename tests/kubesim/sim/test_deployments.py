"""Deployment → ReplicaSet → Pods through the real Store."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from kubesim.sim import Simulator
from kubesim.sim.clock import Clock
from kubesim.sim.deployments import DeploymentController
from kubesim.sim.objects import DEPLOYMENT, POD, REPLICASET
from kubesim.sim.rules import Rules
from kubesim.store import Store
from tests.support.sim_objects import condition, deployment, owned_pods, pod_template
from tests.support.waiting import StoreWaiter


def _deploy(store: Store, name: str = "web") -> dict[str, Any] | None:
    return store.get(DEPLOYMENT, "ns", name)


def _complete(store: Store, replicas: int, name: str = "web") -> bool:
    d = _deploy(store, name)
    if d is None:
        return False
    s = d.get("status") or {}
    progressing = condition(d, "Progressing") or {}
    return (
        s.get("observedGeneration") == d["metadata"]["generation"]
        and s.get("replicas", 0) == replicas
        and s.get("updatedReplicas", 0) == replicas
        and s.get("availableReplicas", 0) == replicas
        and progressing.get("reason") == "NewReplicaSetAvailable"
    )


async def test_deployment_becomes_available_with_correct_counts(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(DEPLOYMENT, deployment("web", 3))
    await waiter.until(lambda: _complete(store, 3))
    d = _deploy(store)
    assert d is not None
    status = d["status"]
    assert status["readyReplicas"] == 3
    assert "unavailableReplicas" not in status
    available = condition(d, "Available")
    assert available is not None
    assert (available["status"], available["reason"]) == ("True", "MinimumReplicasAvailable")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"

    [rs] = store.list(REPLICASET, "ns")
    rs_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{rs_hash}"
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert rs["metadata"]["ownerReferences"][0]["controller"] is True
    assert rs["spec"]["selector"]["matchLabels"]["pod-template-hash"] == rs_hash
    assert rs["status"] == {
        "replicas": 3,
        "fullyLabeledReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "observedGeneration": 1,
    }
    pods = owned_pods(store, rs)
    assert len(pods) == 3
    for pod in pods:
        assert pod["metadata"]["name"].startswith(f"web-{rs_hash}-")
        assert pod["metadata"]["generateName"] == f"web-{rs_hash}-"
        assert len(pod["metadata"]["name"]) == len(f"web-{rs_hash}-") + 5
        assert pod["metadata"]["labels"] == {"app": "web", "pod-template-hash": rs_hash}
        assert pod["spec"]["nodeName"] == "kubesim-node"
        assert pod["status"]["phase"] == "Running"


async def test_template_change_rolls_out_a_new_replicaset(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(DEPLOYMENT, deployment("web", 2))
    await waiter.until(lambda: _complete(store, 2))

    def change(d: dict[str, Any]) -> None:
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"

    store.mutate(DEPLOYMENT, "ns", "web", change)
    await waiter.until(
        lambda: (
            _complete(store, 2)
            and len([r for r in store.list(REPLICASET, "ns") if r["spec"]["replicas"]]) == 1
        )
    )
    rss = sorted(
        store.list(REPLICASET, "ns"),
        key=lambda r: r["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
    )
    assert len(rss) == 2
    old, new = rss
    assert old["spec"]["replicas"] == 0
    assert new["spec"]["replicas"] == 2
    assert new["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    await waiter.until(lambda: not owned_pods(store, old))
    images = {p["spec"]["containers"][0]["image"] for p in store.list(POD, "ns")}
    assert images == {"nginx:1.26"}
    d = _deploy(store)
    assert d is not None
    assert d["status"]["observedGeneration"] == 2
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"


async def test_rollout_respects_max_unavailable(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(
        DEPLOYMENT,
        deployment(
            "web",
            4,
            strategy={
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
            },
        ),
    )
    await waiter.until(lambda: _complete(store, 4))
    lowest = 4

    def record() -> bool:
        nonlocal lowest
        ready = sum(
            1
            for p in store.list(POD, "ns")
            if (condition(p, "Ready") or {}).get("status") == "True"
        )
        lowest = min(lowest, ready)
        return (
            _complete(store, 4)
            and len(store.list(POD, "ns")) == 4
            and all(p["spec"]["containers"][0]["image"] == "nginx:2" for p in store.list(POD, "ns"))
        )

    store.mutate(
        DEPLOYMENT,
        "ns",
        "web",
        lambda d: d["spec"]["template"]["spec"]["containers"][0].__setitem__("image", "nginx:2"),
    )
    await waiter.until(record)
    assert lowest >= 3


async def test_recreate_strategy_removes_old_pods_first(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(DEPLOYMENT, deployment("web", 2, strategy={"type": "Recreate"}))
    await waiter.until(lambda: _complete(store, 2))
    mixed = False

    def done() -> bool:
        nonlocal mixed
        images = {p["spec"]["containers"][0]["image"] for p in store.list(POD, "ns")}
        mixed = mixed or len(images) > 1
        return _complete(store, 2) and images == {"nginx:2"}

    store.mutate(
        DEPLOYMENT,
        "ns",
        "web",
        lambda d: d["spec"]["template"]["spec"]["containers"][0].__setitem__("image", "nginx:2"),
    )
    await waiter.until(done)
    assert not mixed


@pytest.mark.parametrize("target", [5, 1])
async def test_scaling(store: Store, sim: Simulator, waiter: StoreWaiter, target: int) -> None:
    store.create(DEPLOYMENT, deployment("web", 3))
    await waiter.until(lambda: _complete(store, 3))
    store.mutate(DEPLOYMENT, "ns", "web", lambda d: d["spec"].__setitem__("replicas", target))
    await waiter.until(lambda: _complete(store, target) and len(store.list(POD, "ns")) == target)
    assert len(store.list(REPLICASET, "ns")) == 1


async def test_deleted_pod_is_replaced(store: Store, sim: Simulator, waiter: StoreWaiter) -> None:
    store.create(DEPLOYMENT, deployment("web", 2))
    await waiter.until(lambda: _complete(store, 2))
    victim = store.list(POD, "ns")[0]["metadata"]["name"]
    store.delete(POD, "ns", victim)
    await waiter.until(lambda: _complete(store, 2) and len(store.list(POD, "ns")) == 2)
    assert victim not in {p["metadata"]["name"] for p in store.list(POD, "ns")}


async def test_progress_deadline_exceeded_then_recovers(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    slow = pod_template("web", annotations={"sim.kubesim.io/fail": "ImagePullBackOff"})
    store.create(DEPLOYMENT, deployment("web", 1, template=slow, progressDeadlineSeconds=1))

    def deadline_exceeded() -> bool:
        c = condition(_deploy(store), "Progressing")
        return c is not None and c["reason"] == "ProgressDeadlineExceeded"

    await waiter.until(deadline_exceeded, limit=5)
    d = _deploy(store)
    progressing = condition(d, "Progressing")
    assert progressing is not None
    assert progressing["status"] == "False"
    assert progressing["message"].endswith("has timed out progressing.")
    available = condition(d, "Available")
    assert available is not None
    assert (available["status"], available["reason"]) == ("False", "MinimumReplicasUnavailable")
    assert d is not None
    assert d["status"]["unavailableReplicas"] == 1
    pod = store.list(POD, "ns")[0]
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] in {
        "ErrImagePull",
        "ImagePullBackOff",
    }

    # Fixing the template makes progress: Progressing flips back to True.
    store.mutate(
        DEPLOYMENT, "ns", "web", lambda d: d["spec"].__setitem__("template", pod_template("web"))
    )
    await waiter.until(lambda: _complete(store, 1))


async def test_paused_deployment_is_not_rolled_out(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(DEPLOYMENT, deployment("web", 1))
    await waiter.until(lambda: _complete(store, 1))

    def pause_and_change(d: dict[str, Any]) -> None:
        d["spec"]["paused"] = True
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"

    store.mutate(DEPLOYMENT, "ns", "web", pause_and_change)

    def paused() -> bool:
        c = condition(_deploy(store), "Progressing")
        return c is not None and c["reason"] == "DeploymentPaused"

    await waiter.until(paused)
    assert condition(_deploy(store), "Progressing")["status"] == "Unknown"  # type: ignore[index]
    assert len(store.list(REPLICASET, "ns")) == 1
    store.mutate(DEPLOYMENT, "ns", "web", lambda d: d["spec"].__setitem__("paused", False))
    await waiter.until(
        lambda: (
            _complete(store, 1)
            and {p["spec"]["containers"][0]["image"] for p in store.list(POD, "ns")} == {"nginx:2"}
        )
    )


async def test_evicted_pod_is_replaced_and_not_counted(
    store: Store, sim: Simulator, waiter: StoreWaiter
) -> None:
    store.create(DEPLOYMENT, deployment("web", 1))
    await waiter.until(lambda: _complete(store, 1))
    victim = store.list(POD, "ns")[0]["metadata"]["name"]

    def evict(p: dict[str, Any]) -> None:
        p["status"] = {
            "phase": "Failed",
            "reason": "Evicted",
            "message": "The node was low on resource: memory.",
        }

    store.mutate(POD, "ns", victim, evict, subresource="status")
    await waiter.until(lambda: len(store.list(POD, "ns")) == 2 and _complete(store, 1))
    evicted = store.get(POD, "ns", victim)
    assert evicted is not None
    assert evicted["status"]["phase"] == "Failed"  # the kubelet does not resurrect it
    [rs] = store.list(REPLICASET, "ns")
    assert rs["status"]["replicas"] == 1


class ShiftedClock(Clock):
    """Loop time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def monotonic(self) -> float:
        return super().monotonic() + self.offset

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=self.offset)


async def test_completed_rollout_does_not_time_out_when_a_pod_breaks(
    store: Store, rules: Rules, waiter: StoreWaiter
) -> None:
    clock = ShiftedClock()
    sim = Simulator(store, rules, clock=clock)
    await sim.start()
    try:
        store.create(DEPLOYMENT, deployment("web", 1, progressDeadlineSeconds=1))
        await waiter.until(lambda: _complete(store, 1))
        pod = store.list(POD, "ns")[0]["metadata"]["name"]
        store.mutate(
            POD,
            "ns",
            pod,
            lambda p: (
                p["metadata"]
                .setdefault("annotations", {})
                .__setitem__("sim.kubesim.io/fail", "CrashLoopBackOff")
            ),
        )
        await waiter.until(
            lambda: (condition(_deploy(store), "Available") or {}).get("status") == "False"
        )
        clock.offset += 30  # far beyond progressDeadlineSeconds
        controller = next(c for c in sim.controllers if isinstance(c, DeploymentController))
        controller.reconcile(("ns", "web"))
        progressing = condition(_deploy(store), "Progressing")
        assert progressing is not None
        assert (progressing["status"], progressing["reason"]) == ("True", "NewReplicaSetAvailable")
    finally:
        await sim.stop()


async def test_stalled_rollout_times_out_by_the_injected_clock(
    store: Store, rules: Rules, waiter: StoreWaiter
) -> None:
    clock = ShiftedClock()
    sim = Simulator(store, rules, clock=clock)
    await sim.start()
    try:
        stuck = pod_template("web", annotations={"sim.kubesim.io/fail": "InvalidImageName"})
        store.create(DEPLOYMENT, deployment("web", 1, template=stuck, progressDeadlineSeconds=600))
        await waiter.until(
            lambda: (
                store.list(POD, "ns")
                and store.list(POD, "ns")[0]["status"].get("containerStatuses")
            )
        )
        controller = next(c for c in sim.controllers if isinstance(c, DeploymentController))
        controller.reconcile(("ns", "web"))
        assert (condition(_deploy(store), "Progressing") or {}).get(
            "reason"
        ) != "ProgressDeadlineExceeded"
        clock.offset += 601
        controller.reconcile(("ns", "web"))
        assert (condition(_deploy(store), "Progressing") or {}).get(
            "reason"
        ) == "ProgressDeadlineExceeded"
    finally:
        await sim.stop()
